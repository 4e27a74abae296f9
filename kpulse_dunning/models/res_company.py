from odoo import api, fields, models
from odoo.exceptions import ValidationError


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
    kpulse_auto_min_gap_days = fields.Integer(
        string="Minimum Gap (days)",
        default=7,
        help="The automatic run leaves alone an invoice reminded less than "
        "this many days ago.",
    )
    kpulse_auto_min_amount = fields.Monetary(
        string="Minimum Amount Due",
        currency_field="currency_id",
        help="The automatic run leaves alone invoices with less than this "
        "amount due (in the company currency).",
    )
    kpulse_legal_form = fields.Char(
        string="Legal Form",
        help="Legal form and share capital, as French law asks on business "
        "letters, e.g. SAS au capital de 10 000 €.",
    )
    kpulse_penalty_apply = fields.Boolean(
        string="Apply late-payment penalties",
        default=True,
        help="Compute late-payment penalties and the fixed recovery indemnity "
        "on the overdue invoices of business customers (French Code de "
        "commerce L441-10, EU Directive 2011/7/EU).",
    )
    kpulse_penalty_rate_mode = fields.Selection(
        [("reference", "Reference rate + margin"), ("fixed", "Contractual rate")],
        string="Penalty Rate",
        default="reference",
        required=True,
        help="Reference rate: the ECB rate in force on 1 January or 1 July of "
        "each late day, plus the margin. Contractual rate: the fixed annual "
        "rate agreed with customers.",
    )
    kpulse_penalty_margin = fields.Float(
        string="Margin (points)",
        default=10.0,
        help="Points added to the reference rate: 10 in France, at least 8 in the EU.",
    )
    kpulse_penalty_fixed_rate = fields.Float(
        string="Contractual rate (%)", help="Annual penalty rate."
    )
    kpulse_indemnity_amount = fields.Monetary(
        string="Fixed indemnity",
        currency_field="kpulse_indemnity_currency_id",
        default=40.0,
        help="Fixed indemnity for recovery costs due per late invoice, in "
        "euros (40 € by law), converted into each invoice's currency at the "
        "reminder date.",
    )
    kpulse_indemnity_currency_id = fields.Many2one(
        "res.currency",
        string="Indemnity Currency",
        compute="_compute_kpulse_indemnity_currency_id",
        help="The euro: the law sets the fixed indemnity in euros.",
    )

    # === COMPUTE METHODS === #

    def _compute_kpulse_indemnity_currency_id(self):
        self.kpulse_indemnity_currency_id = self.env.ref("base.EUR")

    # === CONSTRAINT METHODS === #

    @api.constrains(
        "kpulse_penalty_margin", "kpulse_penalty_fixed_rate", "kpulse_indemnity_amount"
    )
    def _check_kpulse_penalty_positive(self):
        for company in self:
            for field_name in (
                "kpulse_penalty_margin",
                "kpulse_penalty_fixed_rate",
                "kpulse_indemnity_amount",
            ):
                if company[field_name] < 0:
                    raise ValidationError(
                        self.env._(
                            "The late-payment setting “%(setting)s” of %(company)s "
                            "cannot be negative.",
                            setting=self._fields[field_name]._description_string(
                                self.env
                            ),
                            company=company.name,
                        )
                    )
