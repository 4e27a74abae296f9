{
    "name": "KPulse Dunning - SMS",
    "summary": "Send payment reminders by SMS too, as an action of the reminder levels",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "KPulse",
    "website": "https://github.com/kpulse/kpulse_dunning",
    "license": "LGPL-3",
    "depends": ["kpulse_dunning", "sms"],
    "data": [
        "data/sms_template_data.xml",
        "views/kpulse_dunning_level_views.xml",
    ],
    "post_init_hook": "_assign_level_sms_templates",
    "uninstall_hook": "_uninstall_level_sms",
    "auto_install": True,
    "installable": True,
}
