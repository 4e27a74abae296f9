from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    kpulse_dunning_grouping = fields.Selection(
        [
            ("invoice", "One reminder per invoice"),
            ("partner", "One reminder per customer"),
        ],
        string="Reminder Grouping",
        default="invoice",
        required=True,
        help="One reminder per invoice, or one per customer and currency "
        "listing all its selected invoices.",
    )
