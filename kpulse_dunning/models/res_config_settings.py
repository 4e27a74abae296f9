from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kpulse_dunning_grouping = fields.Selection(
        related="company_id.kpulse_dunning_grouping", readonly=False
    )
