from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, LockError, UserError
from odoo.fields import Command
from odoo.tools import SQL
from odoo.tools.misc import format_date

from ..report.kpulse_dunning_letter import LETTER_REPORT
from .kpulse_dunning_batch import array_literal

# States a reminder can be sent from.
SENDABLE_STATES = ("draft", "failed")
# Stored totals a batch writes itself, not recomputed line by line.
TOTAL_FIELDS = ("amount_residual", "penalty_total", "indemnity_total", "amount_claimed")


class KpulseDunning(models.Model):
    _name = "kpulse.dunning"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "kpulse.dunning.company.check",
    ]
    _description = "Payment Reminder"
    _order = "date desc, id desc"
    _check_company_auto = True

    # A reminder is escalated once: of two users escalating it at the same
    # time (or a request that began before the other one committed), the
    # second cannot give it a second successor. Odoo shows the message.
    _one_live_successor = models.UniqueIndex(
        "(previous_id) WHERE state != 'cancel'",
        "This reminder has just been escalated by someone else: reload it.",
    )

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
        domain="[('level_id', '=', level_id), ('claim_type', '=', claim_type)]",
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
    claim_type = fields.Selection(
        [("reminder", "Reminder"), ("late_payment", "Late-payment claim")],
        string="Kind",
        default="reminder",
        required=True,
        readonly=True,
        index=True,
        help="Reminder: asks for invoices still due. Late-payment claim: asks "
        "for the penalties and fixed indemnities earned by invoices paid late.",
    )
    claim_move_id = fields.Many2one(
        "account.move",
        string="Charges Invoice",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        help="Customer invoice of the penalties and indemnities this "
        "late-payment claim claims.",
    )
    claim_invoice_enabled = fields.Boolean(related="company_id.kpulse_claim_invoice")
    line_ids = fields.One2many("kpulse.dunning.line", "dunning_id", string="Invoices")
    penalty_warning = fields.Char(
        compute="_compute_penalty_warning",
        help="Half-years the penalties of this reminder need that have no "
        "reference rate.",
    )
    penalty_ids = fields.One2many(
        "kpulse.dunning.penalty",
        string="Penalty Calculation",
        compute="_compute_penalty_ids",
        help="The periods the late-payment penalties were computed on.",
    )
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
    penalty_date = fields.Date(
        string="Penalties On",
        readonly=True,
        copy=False,
        help="Day the penalties, indemnities and totals were computed on: "
        "the creation date, then the sending date.",
    )
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
    # Not stored: escalating 10,000 reminders would rewrite each of their
    # rows (0.5 s) to record what their successors already say. That a
    # reminder has one successor at most is kept by the database instead
    # (_one_live_successor).
    escalated_id = fields.Many2one(
        "kpulse.dunning",
        string="Escalated To",
        compute="_compute_escalated_id",
        help="The next-level reminder created from this one, unless cancelled.",
    )
    failure_reason = fields.Text(readonly=True, copy=False)
    run_id = fields.Many2one(
        "kpulse.dunning.run",
        string="Queued In",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
        help="Background send or print this reminder is waiting for.",
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

    @api.depends(
        "line_ids.invoice_date_due",
        "penalty_date",
        "date",
        "state",
        "company_id",
        "currency_id",
        "indemnity_total",
    )
    def _compute_penalty_warning(self):
        Rate = self.env["kpulse.dunning.rate"]
        for dunning in self:
            company = dunning.company_id
            dues = [d for d in dunning.line_ids.mapped("invoice_date_due") if d]
            warnings = [
                dunning.state in SENDABLE_STATES
                and company.kpulse_penalty_apply
                and company.kpulse_penalty_rate_mode == "reference"
                and dues
                and Rate._missing_rates_warning(
                    min(dues) + timedelta(days=1),
                    dunning.penalty_date or dunning.date,
                ),
                dunning.state in SENDABLE_STATES
                and dunning.indemnity_total
                and company._kpulse_indemnity_rate_warning(dunning.currency_id),
            ]
            dunning.penalty_warning = "\n".join(w for w in warnings if w) or False

    @api.depends("line_ids.penalty_ids")
    def _compute_penalty_ids(self):
        for dunning in self:
            dunning.penalty_ids = dunning.line_ids.penalty_ids

    @api.depends("line_ids.move_id")
    def _compute_move_ids(self):
        for dunning in self:
            dunning.move_ids = dunning.line_ids.move_id
            dunning.move_count = len(dunning.line_ids)

    def _search_move_ids(self, operator, value):
        return [("line_ids.move_id", operator, value)]

    @api.depends("line_ids.move_id.amount_residual")
    def _compute_amount_residual(self):
        for dunning in self:
            dunning.amount_residual = sum(
                dunning.line_ids.move_id.mapped("amount_residual")
            )

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        self._assign_names(vals_list)
        return super().create(vals_list)

    @api.model
    def _assign_names(self, vals_list):
        """Give each reminder without one a reference from the sequence of
        its own company, drawn per company at once."""
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

    @api.model
    def _prepare_vals(
        self,
        moves,
        template,
        level=None,
        penalties=None,
        user=None,
        claim_type="reminder",
        date=None,
    ):
        """Values of a reminder for ``moves`` (one customer, one currency),
        or of a late-payment claim with ``claim_type="late_payment"``, dated
        ``date`` (today in the user's timezone by default).

        The lines' stored computed values are given too: computing them
        afterwards costs more than the reminder itself in a batch.
        ``_create_batch`` derives the reminder's totals from them.
        """
        partner = moves.commercial_partner_id
        today = date or fields.Date.context_today(self)
        line_commands = self.env["kpulse.dunning.line"]._prepare_lines(
            moves, today, penalties, claim=claim_type == "late_payment"
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
            "claim_type": claim_type,
            "date": today,
            "penalty_date": today,
            "line_ids": line_commands,
        }

    @api.model
    def _invoice_contact(self, partner):
        if not partner.child_ids:  # most customers: no contact to look through
            return partner
        invoice_contacts = partner.child_ids.filtered(
            lambda child: child.type == "invoice" and child.email
        )
        return invoice_contacts[:1] or partner

    @api.model
    def _create_batch(self, vals_list):
        """Create many reminders at once (the wizard, escalation, automatic
        runs, claims) from ``_prepare_vals`` values: see
        ``kpulse.dunning.batch``.

        Per-record chatter work (creation log, tracking, auto-subscription)
        would dominate a batch of thousands and is not done, as with
        ``tracking_disable``. The sender becomes a follower when the reminder
        is sent, so customers' replies still reach someone.
        """
        return self.env["kpulse.dunning.batch"]._create(vals_list).with_env(self.env)

    def _write_batch_amounts(self):
        """Store the amounts of these reminders and of their lines, from the
        invoices, in two queries (a claim refreshed on many reminders): the
        ORM rounds each monetary value one record at a time, which dominates
        the cost of a batch of thousands. New reminders get theirs from
        ``kpulse.dunning.batch``."""
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

    def _kpulse_set_run(self, run):
        """Link these reminders to the background ``run`` that will process
        them, in one query: the click that queues 10,000 reminders spent
        most of its time in the ORM's write (100 queries, one write date per
        record computed in Python)."""
        if not self:
            return
        self.flush_recordset(["run_id"])
        # Raw SQL, safe: one column of the engine's bookkeeping, a user who
        # may only read reminders may still print them in the background (as
        # sudo() would allow); the caller checked the user's access to these
        # reminders and locked them (_lock_for_action). No stored field
        # depends on run_id; the cache is invalidated below. Not tracked, as
        # before: the queue link is no business change.
        self.env.cr.execute(
            SQL(
                """
                UPDATE kpulse_dunning
                   SET run_id = %(run)s, write_uid = %(uid)s, write_date = %(now)s
                 WHERE id = ANY(%(ids)s::int4[])
                """,
                run=run.id or None,
                uid=self.env.uid,
                now=self.env.cr.now(),
                ids=array_literal(self.ids),
            )
        )
        self.invalidate_recordset(["run_id", "write_uid", "write_date"])
        run.invalidate_recordset()
        self.modified(["run_id"])

    def _refresh_claim(self, date=None):
        """Recompute the penalties (with their periods), indemnities and
        totals of these reminders on ``date`` (today): a letter claims what
        is due on the day it is sent."""
        if not self:
            return
        date = date or fields.Date.context_today(self)
        lines = self.line_ids
        values = {}
        for claim_type, dunnings in self.grouped("claim_type").items():
            values.update(
                dunnings.line_ids.move_id._kpulse_penalty_values(
                    date, claim=claim_type == "late_payment"
                )
            )
        Line = self.env["kpulse.dunning.line"]
        lines.penalty_ids.unlink()
        self.env["kpulse.dunning.penalty"].create(
            [
                dict(period, line_id=line.id)
                for line in lines
                for period in values[line.move_id.id]["periods"]
            ]
        )
        self.penalty_date = date
        for line in lines:
            line_values = Line._penalty_line_values(
                values[line.move_id.id], line.invoice_date_due
            )
            del line_values["penalty_ids"]
            if line.dunning_id.claim_type != "late_payment":
                del line_values["date_paid"]
            line.update(line_values)
        for name in ("penalty_amount", "indemnity_amount", "penalty_rate"):
            self.env.remove_to_compute(Line._fields[name], lines)
        self._write_batch_amounts()

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
        self._check_can_send()
        if not self:
            raise UserError(self.env._("Select at least one reminder to send."))
        if len(self) > self.env["kpulse.dunning.send"]._immediate_limit():
            return self._queue_action("send")
        return self._action_send()

    def _action_send(self):
        """Send now, in this transaction; return the summary notification."""
        self._check_can_send()
        self._lock_for_action()
        queued = self.filtered("run_id")
        outcome = self.env["kpulse.dunning.send"]._send(self - queued)
        outcome["skipped"] |= queued
        return self._send_summary(outcome)

    def _queue_action(self, action):
        """Hand a big Send or Print to the background engine; return at once."""
        self._lock_for_action()
        # Only what queuing reads: the first read of any field would fetch
        # every field of the 10,000 reminders a big click queues.
        self.fetch(["run_id", "state"])
        to_queue = self.filtered(lambda d: not d.run_id)
        if action == "send":
            to_queue = to_queue.filtered(lambda d: d.state in SENDABLE_STATES)
        if not to_queue:
            raise UserError(
                self.env._(
                    "None of these reminders can be queued: they are already "
                    "queued, or not to send."
                )
            )
        run = self.env["kpulse.dunning.send"]._queue(to_queue, action)
        message = self.env._(
            "%(count)s reminder(s) queued: %(run)s. You will be notified when "
            "they are done.",
            count=len(to_queue),
            run=run.name,
        )
        if len(to_queue) < len(self):
            message += "\n" + self.env._(
                "%(count)s reminder(s) left out: already queued or not to send.",
                count=len(self) - len(to_queue),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": message,
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _send_summary(self, outcome):
        sent, failures = outcome["sent"], outcome["failed"]
        paid, skipped = outcome["paid"], outcome["skipped"]
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
        if not self:
            raise UserError(self.env._("Select at least one reminder to print."))
        if len(self) > self.env["kpulse.dunning.send"]._immediate_limit():
            self.check_access("read")
            return self._queue_action("print")
        # The letters' payment links need the invoices' portal tokens: given
        # here, before the report renders (a render never writes).
        self.line_ids.move_id._kpulse_ensure_access_tokens()
        return self.env.ref(LETTER_REPORT).report_action(self, config=False)

    def _render_letter_pdfs(self, letters=None):
        """``{reminder id: PDF bytes}``: see the letter report's engine."""
        return self.env[
            "report.kpulse_dunning.report_dunning_letter"
        ]._render_letter_pdfs(self, letters)

    def _render_letter_bodies(self):
        """``{reminder id: letter content}`` rendered from the templates."""
        return self.env["kpulse.dunning.send"]._render_letter_bodies(self)

    def action_cancel(self):
        self.filtered(lambda d: d.state in SENDABLE_STATES).write(
            {"state": "cancel", "run_id": False}
        )

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

    def action_open_claim_move(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action.update(
            {"views": [(False, "form")], "view_mode": "form"},
            res_id=self.claim_move_id.id,
        )
        return action

    def action_create_claim_invoice(self):
        """Invoice the charges of these late-payment claims (one draft
        customer invoice each) and open them."""
        moves = self._create_claim_invoices()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        if len(moves) == 1:
            action.update(
                {"views": [(False, "form")], "view_mode": "form", "res_id": moves.id}
            )
        else:
            action["domain"] = [("id", "in", moves.ids)]
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

    def _move_ids_by_reminder(self):
        """{reminder id: [ids of its invoices]}, in one grouped read of the
        lines rather than two records read per line."""
        return {
            dunning.id: move_ids
            for dunning, move_ids in self.env["kpulse.dunning.line"]._read_group(
                [("dunning_id", "in", self.ids)], ["dunning_id"], ["move_id:array_agg"]
            )
        }

    def _split_settled(self, move_ids_by_reminder=None):
        """The reminders whose invoices are all paid, and the ids of the paid
        invoices, found in one pass over the batch.

        :param dict move_ids_by_reminder: ``_move_ids_by_reminder()``, when
            the caller has it already.
        """
        if move_ids_by_reminder is None:
            move_ids_by_reminder = self._move_ids_by_reminder()
        moves = self.env["account.move"].browse(
            {move_id for ids in move_ids_by_reminder.values() for move_id in ids}
        )
        moves._kpulse_fetch_for_reminders()
        settled_ids = moves._kpulse_settled_ids()
        # A late-payment claim is made of paid invoices: their payment does
        # not settle it.
        # The claim type is read only for the reminders found paid: reading
        # it on all of them would fetch every field of a large batch.
        settled = self.browse(
            id_
            for id_ in self.ids
            if settled_ids.issuperset(move_ids_by_reminder.get(id_, ()))
        ).filtered(lambda d: d.claim_type == "reminder")
        return settled, settled_ids

    def _drop_settled_lines(self):
        """Remove invoices paid since creation; return the reminders left empty."""
        reminders = self.filtered(lambda d: d.claim_type == "reminder")
        settled = reminders.line_ids.filtered(
            lambda line: line.move_id._kpulse_is_settled()
        )
        settled.unlink()
        emptied = reminders.filtered(lambda d: not d.line_ids)
        emptied.write({"state": "paid", "failure_reason": False})
        return emptied

    def _letter_portal_url(self):
        """Where the letter's reference points: the customer's invoices in the
        portal. It also marks the first page of each letter in the PDF."""
        self.ensure_one()
        return f"{self.get_base_url()}/my/invoices#{self.name}"

    def _letter_filename(self):
        self.ensure_one()
        return "{}.pdf".format(self.name.replace("/", "_"))

    # === BUSINESS METHODS: LATE-PAYMENT CLAIMS === #

    def _create_claim_invoices(self):
        """Create, for each late-payment claim without one, a draft customer
        invoice of its penalties and indemnities (one line of each per
        claimed invoice, with the company's charges product); return the
        invoices of all these claims. A claim invoiced already keeps its
        invoice: nothing is created twice.

        Draft: the accountant checks and posts it (taxes, journal, a
        customer who paid the charges meanwhile); nothing reaches the
        ledger by a click on a reminder.
        """
        self._check_can_send()
        if not self:
            raise UserError(self.env._("Select at least one late-payment claim."))
        self._lock_for_action()
        refusals = {}
        for claim in self:
            company = claim.company_id
            if claim.claim_type != "late_payment":
                refusals[claim] = self.env._("not a late-payment claim")
            elif claim.state == "cancel":
                refusals[claim] = self.env._("cancelled")
            elif claim.claim_move_id:
                continue
            elif not company.kpulse_claim_invoice:
                refusals[claim] = self.env._(
                    "%(company)s does not invoice late-payment charges "
                    "(Settings > Reminders)",
                    company=company.name,
                )
            elif not company._kpulse_claim_product():
                refusals[claim] = self.env._(
                    "no late-payment charges product set for %(company)s",
                    company=company.name,
                )
            elif claim.currency_id.is_zero(claim.penalty_total + claim.indemnity_total):
                refusals[claim] = self.env._("nothing to invoice")
        if refusals:
            raise UserError(
                self._refusals_message(
                    self.env._("These claims cannot be invoiced:"), refusals
                )
            )
        to_invoice = self.filtered(lambda claim: not claim.claim_move_id)
        Move = self.env["account.move"]
        for company, claims in to_invoice.grouped("company_id").items():
            moves = Move.with_company(company).create(
                [claim._prepare_claim_invoice_vals() for claim in claims]
            )
            for claim, move in zip(claims, moves, strict=True):
                claim.claim_move_id = move
                claim.message_post(
                    body=self.env._(
                        "Late-payment charges invoiced in %(invoice)s.",
                        invoice=move._get_html_link(),
                    )
                )
        return self.claim_move_id

    def _prepare_claim_invoice_vals(self):
        """Values of the draft customer invoice of this claim's charges,
        its lines labelled in the customer's language."""
        self.ensure_one()
        env = self.with_context(lang=self.partner_id.lang or self.env.lang).env
        product = self.company_id._kpulse_claim_product()
        lines = []
        for line in self.line_ids:
            invoice = line.move_id.name
            if not line.currency_id.is_zero(line.penalty_amount):
                lines.append(
                    Command.create(
                        {
                            "product_id": product.id,
                            "name": env._(
                                "Late-payment penalties on %(invoice)s (due "
                                "%(due)s, paid %(paid)s)",
                                invoice=invoice,
                                due=format_date(env, line.invoice_date_due),
                                paid=format_date(env, line.date_paid),
                            ),
                            "quantity": 1,
                            "price_unit": line.penalty_amount,
                        }
                    )
                )
            if not line.currency_id.is_zero(line.indemnity_amount):
                lines.append(
                    Command.create(
                        {
                            "product_id": product.id,
                            "name": env._(
                                "Fixed indemnity for recovery costs on %(invoice)s",
                                invoice=invoice,
                            ),
                            "quantity": 1,
                            "price_unit": line.indemnity_amount,
                        }
                    )
                )
        return {
            "move_type": "out_invoice",
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "currency_id": self.currency_id.id,
            "invoice_origin": self.name,
            "invoice_line_ids": lines,
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

    def _escalation_groups(self):
        """What escalating these reminders asks, decided once per group of
        reminders sharing a level, a company, a responsible and a state: two
        grouped reads (the reminders, their successors) instead of seven
        fields of each reminder.

        :return: ``(refusals, groups)``: {reminder id: why it cannot be
            escalated}, and [(next level, company, responsible, state,
            [reminder ids])] of the others.
        """
        # sudo: it only groups the reminders whose write access the caller
        # checked; a read rule must not leave one out. The records grouped
        # on are used as the user below.
        rows = self.sudo()._read_group(
            [("id", "in", self.ids)],
            ["level_id", "company_id", "user_id", "state", "claim_type"],
            ["id:array_agg"],
        )
        # sudo too: it only tells which of these reminders already have a
        # successor not cancelled; a rule hiding that successor from the user
        # must not let him escalate a reminder a second time.
        successor_of = {
            previous.id: successor_id
            for previous, successor_id in self.sudo()._read_group(
                [("previous_id", "in", self.ids), ("state", "!=", "cancel")],
                ["previous_id"],
                ["id:max"],
            )
        }
        next_levels = {}
        refusals = {}
        groups = []
        for level, company, user, state, claim_type, ids in rows:
            level, company = level.with_env(self.env), company.with_env(self.env)
            if (level, company) not in next_levels:
                next_levels[level, company] = level._get_next_level(company)
            next_level = next_levels[level, company]
            escalating = []
            reason = self._escalation_refusal(
                state, claim_type, self.browse(), next_level
            )
            for id_ in ids:
                if id_ in successor_of:
                    refusals[id_] = self._escalation_refusal(
                        state, claim_type, self.browse(successor_of[id_]), next_level
                    )
                elif reason:
                    refusals[id_] = reason
                else:
                    escalating.append(id_)
            if escalating:
                groups.append(
                    (next_level, company, user.with_env(self.env), state, escalating)
                )
        return refusals, groups

    @api.model
    def _escalation_refusal(self, state, claim_type, successor, next_level):
        """Why a reminder cannot be escalated, or None."""
        if state == "cancel":
            return self.env._("cancelled")
        if claim_type == "late_payment":
            return self.env._(
                "a late-payment claim is not escalated: its invoices are "
                "paid; send it again or invoice its charges"
            )
        if state == "paid":
            return self.env._("its invoices are paid")
        if successor:
            return self.env._(
                "already escalated to %(reminder)s", reminder=successor.name
            )
        if not next_level:
            return self.env._("already at the highest level")
        return None

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
        refusal_of, groups = self._escalation_groups()
        candidates = self.browse(id_ for *_key, ids in groups for id_ in ids)
        move_ids_by_reminder = candidates._move_ids_by_reminder()
        settled, settled_ids = candidates._split_settled(move_ids_by_reminder)
        settled.filtered(lambda d: d.state in ("draft", "failed")).state = "paid"
        refusal_of.update(
            dict.fromkeys(settled.ids, self.env._("its invoices are paid"))
        )
        refusals = {d: refusal_of[d.id] for d in self if d.id in refusal_of}
        # Each reminder follows the levels and templates of its own company,
        # looked up once per group; the new reminders keep the order of the
        # selection.
        templates = {
            (next_level, company): next_level._get_default_template(company)
            for next_level, company, *_rest in groups
        }
        position = {id_: index for index, id_ in enumerate(self.ids)}
        escalating = sorted(
            (
                (id_, next_level, templates[next_level, company], user)
                for next_level, company, user, _state, ids in groups
                for id_ in ids
                if id_ not in refusal_of
            ),
            key=lambda item: position[item[0]],
        )
        if not escalating:
            return self.browse(), refusals
        # The invoices still due of each reminder, in the order of their ids.
        Move = self.env["account.move"]
        still_due = {
            id_: Move.browse(
                sorted(set(move_ids_by_reminder.get(id_, ())) - settled_ids)
            )
            for id_, *_values in escalating
        }
        due_moves = Move.union(*still_due.values())
        due_moves.commercial_partner_id.child_ids.mapped("email")  # one query
        today = fields.Date.context_today(self)
        penalties = due_moves._kpulse_penalty_values(today)
        vals_list = [
            dict(
                self._prepare_vals(
                    still_due[id_],
                    template,
                    level=next_level,
                    penalties=penalties,
                    user=user,
                    date=today,
                ),
                previous_id=id_,
            )
            for id_, next_level, template, user in escalating
        ]
        self.browse(
            id_
            for _level, _company, _user, state, ids in groups
            if state in ("draft", "failed")
            for id_ in ids
            if id_ not in refusal_of
        ).state = "cancel"
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
