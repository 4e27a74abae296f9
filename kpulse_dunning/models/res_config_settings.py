from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kpulse_dunning_grouping = fields.Selection(
        related="company_id.kpulse_dunning_grouping", readonly=False
    )
    kpulse_auto_min_gap_days = fields.Integer(
        related="company_id.kpulse_auto_min_gap_days", readonly=False
    )
    kpulse_auto_min_amount = fields.Monetary(
        related="company_id.kpulse_auto_min_amount",
        currency_field="currency_id",
        readonly=False,
    )
    kpulse_legal_form = fields.Char(
        related="company_id.kpulse_legal_form", readonly=False
    )
    kpulse_company_registry = fields.Char(
        related="company_id.company_registry",
        readonly=False,
        string="Registration Number",
        help="Company registration number, such as SIREN or RCS in France.",
    )
    kpulse_penalty_apply = fields.Boolean(
        related="company_id.kpulse_penalty_apply", readonly=False
    )
    kpulse_penalty_rate_mode = fields.Selection(
        related="company_id.kpulse_penalty_rate_mode", readonly=False
    )
    kpulse_penalty_margin = fields.Float(
        related="company_id.kpulse_penalty_margin", readonly=False
    )
    kpulse_penalty_fixed_rate = fields.Float(
        related="company_id.kpulse_penalty_fixed_rate", readonly=False
    )
    kpulse_indemnity_amount = fields.Monetary(
        related="company_id.kpulse_indemnity_amount",
        currency_field="currency_id",
        readonly=False,
    )
