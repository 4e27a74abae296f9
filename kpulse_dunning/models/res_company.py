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
    kpulse_default_followup_user_id = fields.Many2one(
        "res.users",
        string="Default Follow-up Responsible",
        help="Follows up customers that have neither a follow-up responsible "
        "nor a salesperson.",
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

    kpulse_claim_invoice = fields.Boolean(
        string="Invoice late-payment charges",
        help="Late-payment claims get a Create Invoice button: a draft "
        "customer invoice of their penalties and fixed indemnities.",
    )
    kpulse_claim_product_id = fields.Many2one(
        "product.product",
        string="Late-payment charges product",
        default=lambda self: self.env.ref(
            "kpulse_dunning.product_late_payment_charges", raise_if_not_found=False
        ),
        check_company=True,
        help="Product of the invoice lines of penalties and indemnities "
        "(its income account and taxes are used).",
    )

    # === COMPUTE METHODS === #

    def _compute_kpulse_indemnity_currency_id(self):
        self.kpulse_indemnity_currency_id = self.env.ref("base.EUR")

    # === BUSINESS METHODS === #

    def _kpulse_indemnity_rate_warning(self, currency):
        """A warning when this company has no rate to convert the fixed
        indemnity from euros into ``currency`` (Odoo then converts 1:1), or
        False."""
        self.ensure_one()
        euro = self.kpulse_indemnity_currency_id
        if not currency or currency == euro:
            return False
        needed = (euro | currency) - self.currency_id
        # Rates of the company's root company or shared ones: those Odoo's
        # conversion reads (res.currency._get_rates). sudo: only whether a
        # rate exists is used, to warn; the conversion itself reads them.
        with_rates = (
            self.env["res.currency.rate"]
            .sudo()
            ._read_group(
                [
                    ("currency_id", "in", needed.ids),
                    ("company_id", "in", [False, self.root_id.id]),
                ],
                ["currency_id"],
            )
        )
        missing = needed - self.env["res.currency"].union(
            *(rated for (rated,) in with_rates)
        )
        if not missing:
            return False
        return self.env._(
            "No exchange rate for %(currencies)s in %(company)s: the fixed "
            "indemnity in euros is converted into %(currency)s at 1:1. Add "
            "the rates in Accounting > Configuration > Currencies.",
            currencies=", ".join(missing.mapped("name")),
            company=self.name,
            currency=currency.name,
        )

    @api.model
    def _kpulse_set_default_claim_product(self):
        """At install: the shipped product for the companies that exist."""
        product = self.env.ref("kpulse_dunning.product_late_payment_charges")
        self.search([("kpulse_claim_product_id", "=", False)]).write(
            {"kpulse_claim_product_id": product.id}
        )

    def _kpulse_claim_product(self):
        """The product of late-payment charges invoices: the company's, or
        the one shipped (companies that existed at install have none set)."""
        self.ensure_one()
        return self.kpulse_claim_product_id or self.env.ref(
            "kpulse_dunning.product_late_payment_charges", raise_if_not_found=False
        )

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
