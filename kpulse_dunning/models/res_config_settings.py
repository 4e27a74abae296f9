from datetime import timedelta

from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kpulse_dunning_grouping = fields.Selection(
        related="company_id.kpulse_dunning_grouping", readonly=False
    )
    kpulse_default_followup_user_id = fields.Many2one(
        related="company_id.kpulse_default_followup_user_id", readonly=False
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
    kpulse_missing_rates_warning = fields.Char(
        string="Missing Reference Rates",
        compute="_compute_kpulse_missing_rates_warning",
    )
    kpulse_penalty_fixed_rate_warning = fields.Char(
        string="Contractual Rate Too Low",
        compute="_compute_kpulse_penalty_fixed_rate_warning",
    )
    kpulse_indemnity_amount = fields.Monetary(
        related="company_id.kpulse_indemnity_amount",
        currency_field="kpulse_indemnity_currency_id",
        readonly=False,
    )
    kpulse_indemnity_currency_id = fields.Many2one(
        related="company_id.kpulse_indemnity_currency_id"
    )
    kpulse_claim_invoice = fields.Boolean(
        related="company_id.kpulse_claim_invoice", readonly=False
    )
    kpulse_claim_product_id = fields.Many2one(
        related="company_id.kpulse_claim_product_id", readonly=False
    )

    @api.depends("company_id", "kpulse_penalty_apply", "kpulse_penalty_rate_mode")
    def _compute_kpulse_missing_rates_warning(self):
        """Half-years from the oldest due date still owed in the company to
        today that have no reference rate."""
        today = fields.Date.context_today(self)
        for settings in self:
            settings.kpulse_missing_rates_warning = False
            if (
                not settings.kpulse_penalty_apply
                or settings.kpulse_penalty_rate_mode != "reference"
            ):
                continue
            [(oldest,)] = self.env["account.move"]._read_group(
                [
                    ("company_id", "=", settings.company_id.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("invoice_date_due", "<", today),
                ],
                aggregates=["invoice_date_due:min"],
            )
            settings.kpulse_missing_rates_warning = self.env[
                "kpulse.dunning.rate"
            ]._missing_rates_warning(
                oldest + timedelta(days=1) if oldest else today, today
            )

    @api.depends("kpulse_penalty_rate_mode", "kpulse_penalty_fixed_rate")
    def _compute_kpulse_penalty_fixed_rate_warning(self):
        """A contractual rate may not be below three times the legal
        interest rate (L441-10)."""
        legal = self.env["kpulse.dunning.legal.rate"]._get_rate(
            fields.Date.context_today(self)
        )
        for settings in self:
            floor = 3 * legal if legal is not None else None
            settings.kpulse_penalty_fixed_rate_warning = (
                settings.kpulse_penalty_rate_mode == "fixed"
                and floor is not None
                and settings.kpulse_penalty_fixed_rate < floor
                and self.env._(
                    "The contractual rate is below the legal floor: three "
                    "times the legal interest rate, %(floor)s %% (3 × "
                    "%(legal)s %%).",
                    floor=round(floor, 2),
                    legal=legal,
                )
            ) or False
