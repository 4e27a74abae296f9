from odoo import api, fields, models
from odoo.exceptions import AccessError, LockError, UserError

from ..report.kpulse_dunning_letter import LETTER_REPORT

# States a reminder can be sent from.
SENDABLE_STATES = ("draft", "failed")


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

        ``user`` is the reminder's responsible; by default the customer's
        follow-up responsible (``res.partner._kpulse_followup_users``), else
        the current user. Callers creating a batch look the responsibles up
        once for all its customers; an empty recordset leaves it unassigned.
        """
        partner = moves.commercial_partner_id
        if user is None:
            user = (
                self.env["res.partner"]._kpulse_followup_users(
                    partner, moves.company_id
                )[partner.id]
                or self.env.user
            )
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
            "user_id": user.id,
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

    # === ACTIONS === #

    def action_send(self):
        self._check_can_send()
        if not self:
            raise UserError(self.env._("Select at least one reminder to send."))
        self._check_sender()
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

    def action_print(self):
        if not self:
            raise UserError(self.env._("Select at least one reminder to print."))
        if len(self) > self.env["kpulse.dunning.send"]._immediate_limit():
            self.check_access("read")
            return self._queue_action("print")
        # The letters' payment links need the invoices' and reminders' portal
        # tokens: given here, before the report renders (a render never writes).
        self.line_ids.move_id._kpulse_ensure_access_tokens()
        self._kpulse_ensure_access_tokens()
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
        """Where the letter's reference points: the reminder's page in the
        customer portal, with its access token. It also marks the first page
        of each letter in the PDF."""
        self.ensure_one()
        return f"{self.get_base_url()}{self._kpulse_portal_path()}"

    def _letter_filename(self):
        self.ensure_one()
        return "{}.pdf".format(self.name.replace("/", "_"))

    # === BUSINESS METHODS: LOCKS AND REFUSALS === #

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

    @api.model
    def _refusals_message(self, intro, refusals):
        return "\n".join(
            [intro]
            + [f"- {dunning.name}: {reason}" for dunning, reason in refusals.items()]
        )
