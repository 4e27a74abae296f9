{
    "name": "KPulse Dunning",
    "summary": "Chase unpaid customer invoices with reminder levels, "
    "e-mails and PDF letters",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "KPulse",
    "website": "https://github.com/kpulse/kpulse_dunning",
    "license": "LGPL-3",
    "depends": ["account", "html_editor", "mail", "sale"],
    "data": [
        "security/kpulse_dunning_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence_data.xml",
        "data/kpulse_dunning_level_data.xml",
        "data/kpulse_dunning_rate_data.xml",
        "data/kpulse_dunning_template_data.xml",
        "report/kpulse_dunning_reports.xml",
        "report/kpulse_dunning_templates.xml",
        "views/kpulse_dunning_level_views.xml",
        "wizard/kpulse_dunning_template_preview_views.xml",
        "views/kpulse_dunning_template_views.xml",
        "views/kpulse_dunning_views.xml",
        "views/account_move_views.xml",
        "views/res_partner_views.xml",
        "views/kpulse_dunning_rate_views.xml",
        "views/res_config_settings_views.xml",
        "wizard/kpulse_dunning_create_views.xml",
        "views/kpulse_dunning_menus.xml",
    ],
    "demo": [
        "demo/kpulse_dunning_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "kpulse_dunning/static/src/scss/kpulse_dunning.scss",
            "kpulse_dunning/static/src/fields/*",
            "kpulse_dunning/static/src/editor/*",
        ],
        "web.report_assets_common": [
            "kpulse_dunning/static/src/scss/kpulse_dunning_letter.scss",
        ],
        "web.assets_tests": [
            "kpulse_dunning/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": False,
}
