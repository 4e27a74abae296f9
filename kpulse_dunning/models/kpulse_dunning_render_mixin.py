from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import format_date

# The dynamic fields: safe, display-ready values that any template author may
# use, even when Odoo restricts template editing to Mail Template Editors.
DYNAMIC_TEXT_FIELDS = (
    "name",
    "customer_name",
    "customer_contact_name",
    "customer_address",
    "customer_vat",
    "customer_registry",
    "customer_ref",
    "company_name",
    "company_legal_info",
    "company_address",
    "company_iban",
    "company_bic",
    "signatory_name",
    "signatory_function",
    "level_name",
    "previous_dates",
    "portal_url",
)
DYNAMIC_DATE_FIELDS = ("today", "payment_deadline")
DYNAMIC_AMOUNT_FIELDS = (
    "amount_residual",
    "penalty_total",
    "indemnity_total",
    "amount_claimed",
)
ADDRESS_PATHS = ("street", "street2", "zip", "city", "state_id.name", "country_id.name")


class KpulseDunning(models.Model):
    """The dynamic fields templates use: customer, company, dates, links.

    Ready-made values, so that template authors do not write paths through
    five models. Nothing here writes: computing a value never changes the
    database (the invoices' portal tokens are given when reminders are
    created or sent).
    """

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    # The editor's placeholder helper only lists searchable fields, hence
    # the search methods.
    customer_name = fields.Char(related="partner_id.name", string="Customer Name")
    customer_contact_name = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_customer_contact_name",
        string="Contact Name",
    )
    customer_address = fields.Text(
        compute="_compute_dynamic_fields", search="_search_customer_address"
    )
    customer_vat = fields.Char(related="partner_id.vat", string="Customer Tax ID")
    customer_registry = fields.Char(
        related="partner_id.company_registry",
        string="Customer Registration Number",
        help="Customer's registration number (SIREN in France).",
    )
    customer_ref = fields.Char(related="partner_id.ref", string="Customer Reference")
    company_name = fields.Char(related="company_id.name", string="Company Name")
    company_legal_info = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_company_legal_info",
        string="Company Legal Mentions",
    )
    company_address = fields.Text(
        compute="_compute_dynamic_fields", search="_search_company_address"
    )
    company_iban = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_company_iban",
        string="Company IBAN",
    )
    company_bic = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_company_bic",
        string="Company BIC",
    )
    signatory_name = fields.Char(related="user_id.name", string="Signatory")
    signatory_function = fields.Char(
        related="user_id.partner_id.function", string="Signatory Role"
    )
    level_name = fields.Char(related="level_id.name")
    today = fields.Date(
        compute="_compute_dynamic_fields", search="_search_unfilterable"
    )
    payment_deadline = fields.Date(
        compute="_compute_dynamic_fields",
        search="_search_unfilterable",
        help="Date by which the customer is asked to pay: the sending date "
        "plus the level's payment delay.",
    )
    previous_dates = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_unfilterable",
        string="Earlier Reminders",
        help="Dates of the earlier reminders this one escalates from.",
    )
    portal_url = fields.Char(
        compute="_compute_dynamic_fields",
        search="_search_unfilterable",
        string="Payment Link",
        help="Customer portal page where the customer can pay the invoices.",
    )
    # === COMPUTE METHODS === #

    @api.depends_context("lang")
    @api.depends(
        "partner_id",
        "partner_invoice_id",
        "company_id",
        "level_id",
        "sent_date",
        "date",
        "previous_id",
        "line_ids",
    )
    def _compute_dynamic_fields(self):
        today = fields.Date.context_today(self)
        for dunning in self:
            company = dunning.company_id
            contact = dunning.partner_invoice_id
            bank = company.partner_id.bank_ids[:1]
            dunning.customer_contact_name = (
                contact.name if contact and not contact.is_company else ""
            )
            dunning.customer_address = dunning.partner_id._display_address()
            dunning.company_legal_info = dunning._company_legal_info()
            dunning.company_address = company.partner_id._display_address(
                without_company=True
            )
            dunning.company_iban = bank.acc_number or ""
            dunning.company_bic = bank.bank_bic or ""
            dunning.today = today
            start = (dunning.sent_date and dunning.sent_date.date()) or today
            dunning.payment_deadline = start + timedelta(
                days=dunning.level_id.payment_delay_days
            )
            dunning.previous_dates = ", ".join(
                format_date(self.env, previous.sent_date or previous.date)
                for previous in dunning._previous_chain()
            )
            dunning.portal_url = dunning._portal_url()

    def _portal_url(self):
        """The customer's payment page. Computed without writing: the
        invoices' access tokens are given when reminders are created (and
        before a batch is rendered), never while a value is read."""
        self.ensure_one()
        moves = self.line_ids.move_id
        base_url = self.get_base_url()
        if len(moves) != 1:
            # The reminder's page: each of its invoices with Pay now.
            return f"{base_url}{self._kpulse_portal_path()}"
        if moves.access_token:
            return f"{base_url}{moves.get_portal_url()}"
        return f"{base_url}{moves.access_url}"

    def _company_legal_info(self):
        self.ensure_one()
        company = self.company_id
        parts = [" ".join(filter(None, [company.name, company.kpulse_legal_form]))]
        if company.company_registry:
            parts.append(
                self.env._("Registration: %(number)s", number=company.company_registry)
            )
        if company.vat:
            parts.append(self.env._("VAT: %(vat)s", vat=company.vat))
        return " – ".join(parts)

    def _previous_chain(self):
        """The reminders this one escalates from, oldest first."""
        self.ensure_one()
        chain = self.browse()
        previous = self.previous_id
        while previous and previous not in chain:
            chain = previous + chain
            previous = previous.previous_id
        return chain

    # === SEARCH METHODS === #

    # Searches on the dynamic fields match the fields they are built from.

    def _search_on_paths(self, paths, operator, value):
        if operator in Domain.NEGATIVE_OPERATORS:
            return NotImplemented  # the ORM negates the positive search
        return Domain.OR(Domain(path, operator, value) for path in paths)

    def _search_customer_contact_name(self, operator, value):
        return self._search_on_paths(["partner_invoice_id.name"], operator, value)

    def _search_customer_address(self, operator, value):
        return self._search_on_paths(
            [f"partner_id.{name}" for name in ADDRESS_PATHS], operator, value
        )

    def _search_company_address(self, operator, value):
        return self._search_on_paths(
            [f"company_id.partner_id.{name}" for name in ADDRESS_PATHS],
            operator,
            value,
        )

    def _search_company_legal_info(self, operator, value):
        return self._search_on_paths(
            [
                "company_id.name",
                "company_id.kpulse_legal_form",
                "company_id.company_registry",
                "company_id.vat",
            ],
            operator,
            value,
        )

    def _search_company_iban(self, operator, value):
        return self._search_on_paths(
            ["company_id.partner_id.bank_ids.acc_number"], operator, value
        )

    def _search_company_bic(self, operator, value):
        return self._search_on_paths(
            ["company_id.partner_id.bank_ids.bank_bic"], operator, value
        )

    def _search_unfilterable(self, operator, value):
        raise UserError(
            self.env._(
                "Today's date, the payment deadline, the earlier reminders' dates "
                "and the payment link are computed when a reminder is rendered; "
                "they cannot be used in a filter."
            )
        )

    # === TEMPLATE SECURITY === #

    @api.model
    def mail_allowed_qweb_expressions(self):
        # What the editor's placeholder helper inserts for these fields.
        return (
            *super().mail_allowed_qweb_expressions(),
            *(
                f"object.{name}"
                for name in DYNAMIC_TEXT_FIELDS
                + DYNAMIC_DATE_FIELDS
                + DYNAMIC_AMOUNT_FIELDS
            ),
            *(f"format_date(object.{name})" for name in DYNAMIC_DATE_FIELDS),
            *(
                f"format_amount(object.{name}, object.currency_id)"
                for name in DYNAMIC_AMOUNT_FIELDS
            ),
        )
