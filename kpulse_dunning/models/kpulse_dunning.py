import io
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models, modules, tools
from odoo.exceptions import AccessError, LockError, UserError
from odoo.fields import Domain
from odoo.tools import SQL, format_date
from odoo.tools.pdf import PdfFileReader, PdfFileWriter

_logger = logging.getLogger(__name__)

LETTER_REPORT = "kpulse_dunning.action_report_dunning_letter"
# Below this many letters per run, a second wkhtmltopdf is not worth starting.
PARALLEL_MIN_LETTERS = 40
# Stored totals a batch writes itself, not recomputed line by line.
TOTAL_FIELDS = ("amount_residual", "penalty_total", "indemnity_total", "amount_claimed")
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
    _name = "kpulse.dunning"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Payment Reminder"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/"
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    partner_invoice_id = fields.Many2one(
        "res.partner",
        string="Recipient",
        compute="_compute_partner_invoice_id",
        store=True,
        readonly=False,
        check_company=True,
        help="Contact who receives the reminder: the customer's invoice "
        "address when it has one.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
    )
    level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Level",
        required=True,
        index=True,
        tracking=True,
        ondelete="restrict",
        check_company=True,
    )
    level_color = fields.Integer(related="level_id.color")
    template_id = fields.Many2one(
        "kpulse.dunning.template",
        string="Template",
        domain="[('level_id', '=', level_id)]",
        ondelete="restrict",
        check_company=True,
    )
    state = fields.Selection(
        [
            ("draft", "To Send"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("paid", "Paid"),
            ("cancel", "Cancelled"),
        ],
        default="draft",
        required=True,
        tracking=True,
        index=True,
        copy=False,
    )
    line_ids = fields.One2many("kpulse.dunning.line", "dunning_id", string="Invoices")
    move_ids = fields.Many2many(
        "account.move",
        string="Invoices Concerned",
        compute="_compute_move_ids",
        search="_search_move_ids",
    )
    move_count = fields.Integer(compute="_compute_move_ids")
    amount_residual = fields.Monetary(
        string="Amount Due",
        compute="_compute_amount_residual",
        store=True,
        help="Total still due on the invoices of this reminder.",
    )
    date = fields.Date(required=True, default=fields.Date.context_today, copy=False)
    sent_date = fields.Datetime(readonly=True, copy=False)
    previous_id = fields.Many2one(
        "kpulse.dunning",
        string="Previous Reminder",
        index="btree_not_null",
        readonly=True,
        copy=False,
        check_company=True,
        help="The reminder this one escalates from.",
    )
    next_ids = fields.One2many("kpulse.dunning", "previous_id", string="Escalations")
    # Stored on the escalated reminder itself, not only on the new one: two
    # escalations of the same reminder then update the same row, and the
    # second one fails to lock or to serialize, and is retried into a refusal.
    escalated_id = fields.Many2one(
        "kpulse.dunning",
        string="Escalated To",
        compute="_compute_escalated_id",
        store=True,
        copy=False,
        index="btree_not_null",
        help="The next-level reminder created from this one, unless cancelled.",
    )
    failure_reason = fields.Text(readonly=True, copy=False)

    # Dynamic fields for templates: ready-made values, so that template authors
    # do not write paths through five models. The editor's placeholder helper
    # only lists searchable fields, hence the search methods.
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
    penalty_total = fields.Monetary(
        compute="_compute_claim_totals",
        store=True,
        string="Late-Payment Penalties",
    )
    indemnity_total = fields.Monetary(
        compute="_compute_claim_totals", store=True, string="Fixed Indemnities"
    )
    amount_claimed = fields.Monetary(
        compute="_compute_claim_totals",
        store=True,
        string="Total Claimed",
        help="Amount due plus penalties and fixed indemnities.",
    )

    # === COMPUTE METHODS === #

    @api.depends("next_ids.state")
    def _compute_escalated_id(self):
        for dunning in self:
            dunning.escalated_id = dunning.next_ids.filtered(
                lambda d: d.state != "cancel"
            )[-1:]

    @api.depends("partner_id")
    def _compute_partner_invoice_id(self):
        for dunning in self:
            dunning.partner_invoice_id = self._invoice_contact(dunning.partner_id)

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

    @api.depends(
        "line_ids.penalty_amount", "line_ids.indemnity_amount", "amount_residual"
    )
    def _compute_claim_totals(self):
        for dunning in self:
            penalties = sum(dunning.line_ids.mapped("penalty_amount"))
            indemnities = sum(dunning.line_ids.mapped("indemnity_amount"))
            dunning.penalty_total = penalties
            dunning.indemnity_total = indemnities
            dunning.amount_claimed = dunning.amount_residual + penalties + indemnities

    def _portal_url(self):
        """The customer's payment page. Computed without writing: the
        invoices' access tokens are given when reminders are created (and
        before a batch is rendered), never while a value is read."""
        self.ensure_one()
        moves = self.line_ids.move_id
        base_url = self.get_base_url()
        if len(moves) != 1:
            return f"{base_url}/my/invoices"
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

    @api.depends("line_ids.move_id")
    def _compute_move_ids(self):
        for dunning in self:
            dunning.move_ids = dunning.line_ids.move_id
            dunning.move_count = len(dunning.line_ids)

    def _search_move_ids(self, operator, value):
        return [("line_ids.move_id", operator, value)]

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

    @api.depends("line_ids.move_id.amount_residual")
    def _compute_amount_residual(self):
        for dunning in self:
            dunning.amount_residual = sum(
                dunning.line_ids.move_id.mapped("amount_residual")
            )

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

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        # References come from the sequence of each reminder's own company.
        default_company_id = self.default_get(["company_id"]).get("company_id")
        to_name = {}
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company_id = vals.get("company_id") or default_company_id
                to_name.setdefault(company_id, []).append(vals)
        for company_id, company_vals in to_name.items():
            names = self._next_names(
                self.env["res.company"].browse(company_id), len(company_vals)
            )
            for vals, name in zip(company_vals, names, strict=True):
                vals["name"] = name
        return super().create(vals_list)

    @api.model
    def _prepare_vals(self, moves, template, level=None, penalties=None, user=None):
        """Values of a reminder for ``moves`` (one customer, one currency).

        The lines' stored computed values are given too: computing them
        afterwards costs more than the reminder itself in a batch. The
        amounts are left to their computes, or to ``_write_batch_amounts``.
        """
        partner = moves.commercial_partner_id
        today = fields.Date.context_today(self)
        line_commands = self.env["kpulse.dunning.line"]._prepare_lines(
            moves, today, penalties
        )
        return {
            "partner_id": partner.id,
            "partner_invoice_id": self._invoice_contact(partner).id,
            "company_id": moves.company_id.id,
            "currency_id": moves.currency_id.id,
            "level_id": (level or template.level_id).id,
            "template_id": template.id,
            "user_id": (user or self.env.user).id,
            "state": "draft",
            "date": today,
            "line_ids": line_commands,
        }

    @api.model
    def _invoice_contact(self, partner):
        invoice_contacts = partner.child_ids.filtered(
            lambda child: child.type == "invoice" and child.email
        )
        return invoice_contacts[:1] or partner

    @api.model
    def _create_batch(self, vals_list):
        if not vals_list:
            return self.browse()
        return self._create_batch_values(vals_list)

    @api.model
    def _create_batch_values(self, vals_list):
        """Create many reminders at once, for the wizard and escalation.

        Per-record chatter work (creation log, tracking, auto-subscription)
        would dominate a batch of thousands. The sender becomes a follower
        when the reminder is sent, so customers' replies still reach someone.
        """
        # Lines are created in one flat batch: cheaper than one2many commands.
        line_commands = [vals.pop("line_ids", []) for vals in vals_list]
        # The payment links of the letters need the invoices' portal tokens:
        # given here once, so that rendering never writes to invoices.
        self.env["account.move"].browse(
            command[2]["move_id"] for commands in line_commands for command in commands
        )._kpulse_ensure_access_tokens()
        dunnings = self.with_context(tracking_disable=True).create(vals_list)
        Line = self.env["kpulse.dunning.line"]
        line_vals_list = [
            dict(command[2], dunning_id=dunning.id)
            for dunning, commands in zip(dunnings, line_commands, strict=True)
            for command in commands
        ]
        # Amounts are written afterwards in SQL (see _write_batch_amounts).
        for vals in line_vals_list:
            vals.pop("amount_residual", None)
        totals = [self._fields[name] for name in TOTAL_FIELDS]
        with self.env.protecting(totals, dunnings):
            lines = Line.create(line_vals_list)
            # The lines' computed values were given, yet the ORM marks them to
            # compute again as their reminder was just set: drop that work.
            given = set(Line._fields).intersection(*line_vals_list)
            for name in given:
                field = Line._fields[name]
                if field.compute and field.store:
                    self.env.remove_to_compute(field, lines)
            dunnings._write_batch_amounts()
        return dunnings.with_env(self.env)

    def _write_batch_amounts(self):
        """Store the amounts of new reminders and of their lines in two
        queries: the ORM rounds each monetary value one record at a time,
        which dominates the cost of a batch of thousands."""
        if not self:
            return
        for name in TOTAL_FIELDS:
            self.env.remove_to_compute(self._fields[name], self)
        # The SQL below reads these columns: anything the ORM still holds
        # (a payment reconciled earlier in this transaction) is written first.
        self.env["account.move"].flush_model(["amount_residual"])
        self.env["res.currency"].flush_model(["decimal_places"])
        self.env["kpulse.dunning.line"].flush_model()
        self.flush_recordset()
        ids = tuple(self.ids)
        # Raw SQL, safe: inputs flushed above, parameters bound by SQL(), the
        # rows are the reminders of this batch (record rules already applied
        # to how they were found), outputs invalidated below.
        self.env.cr.execute(
            SQL(
                """
                UPDATE kpulse_dunning_line AS line
                SET amount_residual = move.amount_residual
                FROM account_move AS move
                WHERE move.id = line.move_id AND line.dunning_id IN %(ids)s
                """,
                ids=ids,
            )
        )
        # Same reasons: the lines' amounts were just written in this query's
        # transaction, the currencies flushed above.
        self.env.cr.execute(
            SQL(
                """
                UPDATE kpulse_dunning AS dunning
                SET amount_residual = totals.amount_residual,
                    penalty_total = totals.penalty_total,
                    indemnity_total = totals.indemnity_total,
                    amount_claimed = totals.amount_residual
                        + totals.penalty_total + totals.indemnity_total
                FROM (
                    SELECT line.dunning_id,
                        SUM(line.amount_residual) AS amount_residual,
                        ROUND(SUM(line.penalty_amount)::numeric,
                              MAX(currency.decimal_places)) AS penalty_total,
                        ROUND(SUM(line.indemnity_amount)::numeric,
                              MAX(currency.decimal_places)) AS indemnity_total
                    FROM kpulse_dunning_line AS line
                    JOIN res_currency AS currency ON currency.id = line.currency_id
                    WHERE line.dunning_id IN %(ids)s
                    GROUP BY line.dunning_id
                ) AS totals
                WHERE dunning.id = totals.dunning_id
                """,
                ids=ids,
            )
        )
        self.invalidate_recordset(TOTAL_FIELDS)
        self.line_ids.invalidate_recordset(["amount_residual"])

    @api.ondelete(at_uninstall=False)
    def _unlink_except_sent(self):
        sent = self.filtered(lambda d: d.sent_date)
        if sent:
            raise UserError(
                self.env._(
                    "Reminders that were sent are kept as a record; cancel them "
                    "instead: %(names)s",
                    names=", ".join(sent.mapped("name")),
                )
            )

    @api.model
    def _next_names(self, company, count):
        """Draw ``count`` references of ``company`` at once, not one query
        per reminder."""
        if not count:
            return []
        sequence = self._reference_sequence(company)
        if not sequence:
            return ["/"] * count
        if sequence.implementation != "standard" or sequence.use_date_range:
            return [sequence._next() for _i in range(count)]
        # Raw SQL, safe: the sequence's own PostgreSQL sequence, as
        # ir.sequence._next() would call it, drawn count times at once.
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        # get_next_char() interpolates the prefix for every number: do it once.
        prefix, suffix = sequence._get_prefix_suffix()
        return [f"{prefix}{number:0{sequence.padding}d}{suffix}" for (number,) in rows]

    @api.model
    def _reference_sequence(self, company):
        # sudo: billing users may not read ir.sequence, as for invoice
        # numbers; only the reminder sequence of that company (or the shared
        # one) is used, never shown.
        return (
            self.env["ir.sequence"]
            .sudo()
            .search(
                [
                    ("code", "=", "kpulse.dunning"),
                    ("company_id", "in", [company.id, False]),
                ],
                order="company_id",
                limit=1,
            )
        )

    @api.model
    def _next_name_preview(self, company):
        """The reference the next reminder will get, without drawing it."""
        sequence = self._reference_sequence(company)
        if not sequence:
            return "/"
        return sequence.get_next_char(sequence.number_next_actual)

    def _mail_get_partner_fields(self, introspect_fields=False):
        return ["partner_invoice_id"]

    # === ACTIONS === #

    def action_send(self):
        return self._action_send()

    def action_escalate(self):
        escalated, refusals = self._escalate()
        if not refusals:
            return self._open_dunnings(escalated)
        message = self._refusals_message(
            self.env._(
                "%(count)s reminder(s) escalated. Not escalated:",
                count=len(escalated),
            ),
            refusals,
        )
        if not escalated:
            raise UserError(message)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": message,
                "type": "warning",
                "sticky": True,
                "next": self._open_dunnings(escalated),
            },
        }

    def action_print(self):
        return self.env.ref(LETTER_REPORT).report_action(self, config=False)

    def action_cancel(self):
        self.filtered(lambda d: d.state in ("draft", "failed")).state = "cancel"

    def action_reset_draft(self):
        self.filtered(lambda d: d.state in ("failed", "cancel")).write(
            {"state": "draft", "failure_reason": False}
        )

    def action_open_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.line_ids.move_id.ids)]
        action["context"] = {"create": False}
        return action

    def action_open_templates(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_template_action"
        )

    def action_open_new_dunnings(self):
        return self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.account_move_action_kpulse_to_dun"
        )

    def _open_dunnings(self, dunnings):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_action"
        )
        action["domain"] = [("id", "in", dunnings.ids)]
        return action

    # === BUSINESS METHODS: SEND === #

    def _check_can_send(self):
        self.check_access("write")
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                self.env._("Only billing users can send payment reminders.")
            )

    def _action_send(self):
        """Send each reminder by e-mail with its letter; never let one block the rest.

        Returns a notification action summing up what was sent and what failed.
        """
        self._check_can_send()
        if not self:
            raise UserError(self.env._("Select at least one reminder to send."))
        self._lock_for_action()
        to_send = self.filtered(lambda d: d.state in ("draft", "failed"))
        skipped = self - to_send
        paid = to_send._drop_settled_lines()
        to_send -= paid
        # The letter claims what is due on the sending day, not at creation.
        to_send._write_batch_amounts()
        to_send.line_ids.move_id._kpulse_ensure_access_tokens()
        failures = {}
        for dunning in to_send.filtered(lambda d: not d.partner_invoice_id.email):
            failures[dunning] = self.env._(
                "%(partner)s has no e-mail address.",
                partner=dunning.partner_invoice_id.display_name,
            )
        for dunning in to_send.filtered(lambda d: not d.template_id):
            failures[dunning] = self.env._("The reminder has no template.")
        ready = to_send.filtered(lambda d: d not in failures)
        contents = ready._render_mail_contents(failures)
        ready = ready.filtered(lambda d: d not in failures)
        letters = ready._render_letter_bodies(failures)
        ready = ready.filtered(lambda d: d not in failures)
        pdfs = {}
        if ready:
            try:
                pdfs = ready._render_letter_pdfs(letters)
            except UserError as error:
                for dunning in ready:
                    failures[dunning] = str(error)
                ready = self.browse()
        ready._post_reminders(contents, pdfs)
        for reason, dunnings in self._group_by_reason(failures).items():
            dunnings.write({"state": "failed", "failure_reason": reason})
        return self._send_summary(ready, failures, paid, skipped)

    def _split_settled(self):
        """The reminders whose invoices are all paid, and the ids of the paid
        invoices, found in one pass over the batch."""
        settled_ids = set(
            self.line_ids.move_id.filtered(lambda move: move._kpulse_is_settled()).ids
        )
        settled = self.filtered(
            lambda d: all(line.move_id.id in settled_ids for line in d.line_ids)
        )
        return settled, settled_ids

    def _drop_settled_lines(self):
        """Remove invoices paid since creation; return the reminders left empty."""
        settled = self.line_ids.filtered(lambda line: line.move_id._kpulse_is_settled())
        settled.unlink()
        emptied = self.filtered(lambda d: not d.line_ids)
        emptied.write({"state": "paid", "failure_reason": False})
        return emptied

    def _render_mail_contents(self, failures):
        """Subject and body of every reminder, in the customer's language."""
        return self._render_by_template(
            lambda template, dunnings: dunnings._render_template_fields(template),
            failures,
        )

    def _render_template_fields(self, template):
        subjects = template._render_field("subject", self.ids, compute_lang=True)
        bodies = template._render_field("body_html", self.ids, compute_lang=True)
        return {dunning: (subjects[dunning.id], bodies[dunning.id]) for dunning in self}

    def _render_letter_bodies(self, failures=None):
        """Letter content of every reminder, rendered from its template."""

        def render(template, dunnings):
            if not template:
                return dict.fromkeys(dunnings.ids, Markup())
            return template._render_field(
                "letter_html", dunnings.ids, compute_lang=True
            )

        return self._render_by_template(render, failures)

    def _render_by_template(self, render, failures=None):
        """Call ``render(template, reminders)`` once per template.

        When a batch fails, its reminders are rendered one by one so that only
        the faulty ones are set aside in ``failures``; without ``failures``,
        the error is raised.
        """
        results = {}
        for template, dunnings in self.grouped("template_id").items():
            try:
                results.update(render(template, dunnings))
            except UserError as error:
                self._raise_database_error(error)
                if failures is None:
                    raise
                for dunning in dunnings:
                    try:
                        results.update(render(template, dunning))
                    except UserError as error:
                        self._raise_database_error(error)
                        failures[dunning] = self._render_error_reason(error)
        return results

    @api.model
    def _raise_database_error(self, error):
        """Re-raise the database error behind a render error.

        The renderers wrap every exception in a UserError. A serialization
        failure or a deadlock leaves the transaction unusable: it must reach
        Odoo, which retries the whole request, instead of being recorded as
        a template problem.
        """
        cause = error.__cause__ or error.__context__
        while cause is not None:
            if isinstance(cause, psycopg2.Error):
                raise cause
            cause = cause.__cause__ or cause.__context__

    def _render_error_reason(self, error):
        return self.env._(
            "The template could not be rendered: %(problem)s.",
            problem=self.env["kpulse.dunning.template"]._render_error_summary(error),
        )

    def _render_letter_pdfs(self, letters=None):
        """One PDF letter per reminder, in as few wkhtmltopdf runs as cores.

        Debian's wkhtmltopdf refuses several documents in one call, so each
        run converts a batch of letters rendered as one document, which is
        then split back per reminder. A big batch is cut in one chunk per
        core, converted in parallel.
        """
        Report = self.env["ir.actions.report"]
        report = self.env.ref(LETTER_REPORT).with_context(debug=False)
        data = {"letter_bodies": letters} if letters else None
        in_test = modules.module.current_test or tools.config["test_enable"]
        pdfs = {}
        if len(self) > 1 and (
            self.env.context.get("force_report_rendering") or not in_test
        ):
            # Test cursors are not shared across threads: convert in turn there.
            chunks = self._letter_chunks(1 if in_test else os.cpu_count() or 1)
            jobs = [chunk._letters_html(report, data) for chunk in chunks]
            for chunk, pdf in zip(
                chunks, self._convert_letters(report, jobs), strict=True
            ):
                parts = chunk._split_letters_pdf(pdf)
                if parts:
                    pdfs.update(zip(chunk.ids, parts, strict=True))
                else:
                    _logger.info(
                        "Letters could not be split; rendering them one by one."
                    )
        for dunning in self.filtered(lambda d: d.id not in pdfs):
            pdfs[dunning.id] = Report._render_qweb_pdf(report, dunning.ids, data=data)[
                0
            ]
        return pdfs

    def _letter_chunks(self, workers):
        """Contiguous chunks, one per worker, none under PARALLEL_MIN_LETTERS."""
        count = max(1, min(workers, len(self) // PARALLEL_MIN_LETTERS))
        size = -(-len(self) // count)
        return [self[start : start + size] for start in range(0, len(self), size)]

    def _letters_html(self, report, data):
        """The arguments of one wkhtmltopdf run for these letters."""
        html = report.env["ir.actions.report"]._render_qweb_html(
            report, self.ids, data=data
        )[0]
        bodies, _ids, header, footer, paper_args = report._prepare_html(
            html, report_model=self._name
        )
        return {
            "bodies": bodies,
            "header": header,
            "footer": footer,
            "specific_paperformat_args": paper_args,
        }

    def _convert_letters(self, report, jobs):
        """Run wkhtmltopdf on each job, in parallel when there are several.

        Each thread reads the report settings through a cursor of its own.
        """

        def convert(job):
            with self.env.registry.cursor() as cr:
                env = api.Environment(cr, self.env.uid, self.env.context)
                return env["ir.actions.report"]._run_wkhtmltopdf(
                    report_ref=report.id, **job
                )

        if len(jobs) == 1:
            return [
                self.env["ir.actions.report"]._run_wkhtmltopdf(
                    report_ref=report, **jobs[0]
                )
            ]
        with ThreadPoolExecutor(max_workers=len(jobs)) as executor:
            return list(executor.map(convert, jobs))

    def _letter_portal_url(self):
        """Where the letter's reference points: the customer's invoices in the
        portal. It also marks the first page of each letter in the PDF."""
        self.ensure_one()
        return f"{self.get_base_url()}/my/invoices#{self.name}"

    def _split_letters_pdf(self, pdf):
        """Cut the PDF of all letters into one PDF per reminder, or None.

        A letter starts on the page holding the link of its reference (the
        PDF text itself is not extractable from Debian's wkhtmltopdf).
        """
        reader = PdfFileReader(io.BytesIO(pdf))
        page_count = reader.numPages
        if page_count == len(self):
            starts = list(range(page_count))
        else:
            first_page = {}
            for page_number in range(page_count):
                for annotation in reader.getPage(page_number).get("/Annots") or []:
                    uri = annotation.getObject().get("/A", {}).get("/URI") or ""
                    first_page.setdefault(uri, page_number)
            starts = [first_page.get(dunning._letter_portal_url()) for dunning in self]
            if None in starts or starts[0] != 0 or starts != sorted(set(starts)):
                return None
        parts = []
        for index, first in enumerate(starts):
            last = starts[index + 1] if index + 1 < len(starts) else page_count
            writer = PdfFileWriter()
            for page_number in range(first, last):
                writer.addPage(reader.getPage(page_number))
            stream = io.BytesIO()
            writer.write(stream)
            parts.append(stream.getvalue())
        return parts

    def _letter_filename(self):
        self.ensure_one()
        return "{}.pdf".format(self.name.replace("/", "_"))

    def _invoice_pdfs(self):
        """PDF of each invoice to attach, reusing the stored invoice PDF."""
        moves = self.filtered("template_id.attach_invoice").line_ids.move_id
        pdfs = {}
        to_render = self.env["account.move"]
        for move in moves:
            if move.invoice_pdf_report_id:
                pdfs[move] = (
                    move.invoice_pdf_report_id.name,
                    move.invoice_pdf_report_id.raw,
                )
            else:
                to_render |= move
        Report = self.env["ir.actions.report"]
        for move in to_render:
            content = Report._render_qweb_pdf("account.account_invoices", move.ids)[0]
            pdfs[move] = (move._get_invoice_report_filename(), content)
        return pdfs

    def _post_reminders(self, contents, pdfs):
        if not self:
            return
        invoice_pdfs = self._invoice_pdfs()
        for dunning in self:
            subject, body = contents[dunning]
            attachments = [(dunning._letter_filename(), pdfs[dunning.id])]
            if dunning.template_id.attach_invoice:
                attachments += [invoice_pdfs[move] for move in dunning.line_ids.move_id]
            dunning.with_context(mail_notify_force_send=False).message_post(
                body=body,
                subject=subject,
                partner_ids=dunning.partner_invoice_id.ids,
                attachments=attachments,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                email_layout_xmlid="mail.mail_notification_light",
            )
        self.write(
            {
                "state": "sent",
                "sent_date": fields.Datetime.now(),
                "failure_reason": False,
            }
        )
        self._log_on_invoices()

    def _log_on_invoices(self):
        bodies = {}
        for line in self.line_ids:
            dunning = line.dunning_id
            # Markup's % escapes every value: names cannot inject HTML.
            bodies[line.move_id.id] = Markup(
                "%s <a href='#' data-oe-model='kpulse.dunning' data-oe-id='%s'>%s</a>"
                " (%s)"
            ) % (
                self.env._("Payment reminder sent:"),
                dunning.id,
                dunning.name,
                dunning.level_id.name,
            )
        self.env["account.move"].browse(bodies)._message_log_batch(bodies=bodies)

    @api.model
    def _group_by_reason(self, failures):
        grouped = {}
        for dunning, reason in failures.items():
            grouped[reason] = grouped.get(reason, self.browse()) | dunning
        return grouped

    def _send_summary(self, sent, failures, paid, skipped):
        lines = [self.env._("%(count)s reminder(s) sent.", count=len(sent))]
        if failures:
            lines.append(
                self.env._("%(count)s reminder(s) failed:", count=len(failures))
            )
            lines += [
                f"{dunning.name}: {reason}" for dunning, reason in failures.items()
            ]
        if paid:
            lines.append(
                self.env._(
                    "%(count)s reminder(s) not sent: their invoices are paid.",
                    count=len(paid),
                )
            )
        if skipped:
            lines.append(
                self.env._(
                    "%(count)s reminder(s) skipped: only reminders to send or "
                    "failed can be sent.",
                    count=len(skipped),
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": "\n".join(lines),
                "type": "warning" if failures else "success",
                "sticky": bool(failures),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # === BUSINESS METHODS: ESCALATE === #

    def _lock_for_action(self):
        """Lock these reminders until the end of the transaction.

        A second user or worker on the same reminders gets a message instead
        of doing the work twice; one that started before the first one
        committed fails to serialize on the updated rows and is retried by
        Odoo, then sees their new state.
        """
        try:
            self.lock_for_update(allow_referencing=True)
        except LockError:
            raise UserError(
                self.env._(
                    "Another user or a scheduled job is working on these "
                    "reminders right now. Try again in a moment."
                )
            ) from None

    def _escalation_refusals(self, next_levels):
        """Why each reminder that cannot be escalated cannot be: {reminder: reason}."""
        refusals = {}
        for dunning in self:
            if dunning.state == "cancel":
                refusals[dunning] = self.env._("cancelled")
            elif dunning.state == "paid":
                refusals[dunning] = self.env._("its invoices are paid")
            elif dunning.escalated_id:
                refusals[dunning] = self.env._(
                    "already escalated to %(reminder)s",
                    reminder=dunning.escalated_id.name,
                )
            elif not next_levels[dunning]:
                refusals[dunning] = self.env._("already at the highest level")
        return refusals

    @api.model
    def _refusals_message(self, intro, refusals):
        return "\n".join(
            [intro]
            + [f"- {dunning.name}: {reason}" for dunning, reason in refusals.items()]
        )

    def _action_escalate(self):
        """Create the next-level reminder of each reminder; return them.

        Raise when none of them can be escalated, naming them and why.
        """
        escalated, refusals = self._escalate()
        if refusals and not escalated:
            raise UserError(
                self._refusals_message(
                    self.env._("These reminders cannot be escalated:"), refusals
                )
            )
        return escalated

    def _escalate(self):
        """Escalate what can be; return the new reminders and the refusals."""
        self.check_access("write")
        if not self:
            raise UserError(self.env._("Select at least one reminder to escalate."))
        self._lock_for_action()
        # Each reminder follows the levels and templates of its own company.
        next_by_company = {}
        for dunning in self:
            key = (dunning.level_id, dunning.company_id)
            if key not in next_by_company:
                next_by_company[key] = key[0]._get_next_level(key[1])
        next_levels = {
            dunning: next_by_company[dunning.level_id, dunning.company_id]
            for dunning in self
        }
        refusals = self._escalation_refusals(next_levels)
        candidates = self.filtered(lambda d: d not in refusals)
        settled, settled_ids = candidates._split_settled()
        settled.filtered(lambda d: d.state in ("draft", "failed")).state = "paid"
        for dunning in settled:
            refusals[dunning] = self.env._("its invoices are paid")
        to_escalate = candidates - settled
        if not to_escalate:
            return self.browse(), refusals
        templates = {}
        for dunning in to_escalate:
            key = (next_levels[dunning], dunning.company_id)
            if key not in templates:
                templates[key] = key[0]._get_default_template(dunning.company_id)
        to_escalate.partner_id.child_ids.mapped("email")  # one query for all contacts
        penalties = to_escalate.line_ids.move_id._kpulse_penalty_values(
            fields.Date.context_today(self)
        )
        vals_list = [
            dict(
                self._prepare_vals(
                    dunning.line_ids.move_id.filtered(
                        lambda move: move.id not in settled_ids
                    ),
                    templates[next_levels[dunning], dunning.company_id],
                    level=next_levels[dunning],
                    penalties=penalties,
                    user=dunning.user_id,
                ),
                previous_id=dunning.id,
            )
            for dunning in to_escalate
        ]
        to_escalate.filtered(lambda d: d.state in ("draft", "failed")).state = "cancel"
        return self._create_batch(vals_list), refusals

    # === MAIL GATEWAY === #

    def _message_receive_bounce(self, email, partner):
        """A bounced reminder failed: say so, so that it can be sent again."""
        result = super()._message_receive_bounce(email, partner)
        self._mark_delivery_failed(
            self.env._("The e-mail to %(email)s bounced.", email=email)
        )
        return result

    def _mark_delivery_failed(self, reason):
        """Sent reminders whose e-mail did not reach the customer."""
        self.filtered(lambda d: d.state == "sent").write(
            {"state": "failed", "failure_reason": reason}
        )
