{
    "name": "KPulse Dunning - Queue Job",
    "summary": "Send and print payment reminders with OCA queue_job, on every "
    "Odoo server of the database",
    "version": "19.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "KPulse",
    "website": "https://github.com/kpulse/kpulse_dunning",
    "license": "LGPL-3",
    "depends": ["kpulse_dunning", "queue_job"],
    "data": [
        "data/queue_job_channel_data.xml",
    ],
    "auto_install": True,
    "installable": True,
}
