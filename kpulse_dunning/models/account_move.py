from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

SETTLED_PAYMENT_STATES = ("paid", "in_payment", "reversed")


class AccountMove(models.Model):
    _inherit = "account.move"

    kpulse_dunning_line_ids = fields.One2many(
        "kpulse.dunning.line", "move_id", string="Reminder Lines", copy=False
    )
    kpulse_dunning_count = fields.Integer(
        string="Reminders", compute="_compute_kpulse_dunning_count"
    )
    kpulse_dunning_level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Reminder Level",
        compute="_compute_kpulse_dunning_level",
        store=True,
        index="btree_not_null",
        help="Highest reminder level sent for this invoice.",
    )
    kpulse_dunning_level_color = fields.Integer(
        string="Reminder Level Colour", related="kpulse_dunning_level_id.color"
    )
    kpulse_last_dunning_date = fields.Date(
        string="Last Reminder",
        compute="_compute_kpulse_dunning_level",
        store=True,
    )
    kpulse_can_be_dunned = fields.Boolean(
        string="Can Be Reminded",
        compute="_compute_kpulse_can_be_dunned",
        search="_search_kpulse_can_be_dunned",
        help="Posted customer invoice, overdue, with an amount still due and "
        "not blocked from reminders.",
    )
    kpulse_dunning_blocked = fields.Boolean(
        string="Reminders Blocked", copy=False, tracking=True
    )
    kpulse_dunning_block_reason = fields.Char(
        string="Block Reason", copy=False, tracking=True
    )
    kpulse_days_overdue = fields.Integer(
        string="Days Late", compute="_compute_kpulse_days_overdue"
    )
    kpulse_proposed_level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Next Level",
        compute="_compute_kpulse_proposed_level",
        help="Level proposed for the next reminder, from the levels' delays "
        "and the reminders already sent.",
    )
    kpulse_proposed_level_color = fields.Integer(
        string="Next Level Colour", compute="_compute_kpulse_proposed_level"
    )
    kpulse_auto_next = fields.Boolean(
        string="In Next Automatic Run",
        compute="_compute_kpulse_auto_next",
        search="_search_kpulse_auto_next",
        help="The next automatic run would remind this invoice.",
    )

    def _auto_init(self):
        # Create the stored columns empty: no reminder exists at install, so
        # computing them for every existing move would only cost time.
        if not column_exists(self.env.cr, "account_move", "kpulse_dunning_level_id"):
            create_column(
                self.env.cr, "account_move", "kpulse_dunning_level_id", "int4"
            )
            create_column(
                self.env.cr, "account_move", "kpulse_last_dunning_date", "date"
            )
        return super()._auto_init()

    # === COMPUTE METHODS === #

    def _compute_kpulse_dunning_count(self):
        counts = dict(
            self.env["kpulse.dunning.line"]._read_group(
                [("move_id", "in", self.ids), ("dunning_id.state", "!=", "cancel")],
                ["move_id"],
                ["__count"],
            )
        )
        for move in self:
            move.kpulse_dunning_count = counts.get(move, 0)

    @api.depends(
        "kpulse_dunning_line_ids.dunning_id.sent_date",
        "kpulse_dunning_line_ids.dunning_id.state",
        "kpulse_dunning_line_ids.dunning_id.level_id",
    )
    def _compute_kpulse_dunning_level(self):
        # One query for the whole batch: thousands of moves are recomputed
        # whenever reminders are created or escalated.
        self.env["kpulse.dunning.line"].flush_model(["move_id", "dunning_id"])
        self.env["kpulse.dunning"].flush_model(["sent_date", "state", "level_id"])
        self.env["kpulse.dunning.level"].flush_model(["sequence"])
        # Raw SQL, safe: the columns read are flushed above, ids are bound
        # parameters, and the result is only assigned to these moves' fields
        # (a stored compute, run as superuser like every stored compute).
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT ON (line.move_id)
                       line.move_id, dunning.level_id,
                       MAX(dunning.sent_date) OVER (PARTITION BY line.move_id)
                  FROM kpulse_dunning_line line
                  JOIN kpulse_dunning dunning ON dunning.id = line.dunning_id
                  JOIN kpulse_dunning_level level ON level.id = dunning.level_id
                 WHERE line.move_id IN %s
                   AND dunning.sent_date IS NOT NULL
                   AND dunning.state != 'cancel'
              ORDER BY line.move_id, level.sequence DESC, level.id DESC
                """,
                tuple(id_ for id_ in self.ids if isinstance(id_, int)) or (None,),
            )
        )
        sent = {move_id: (level_id, last_date) for move_id, level_id, last_date in rows}
        Level = self.env["kpulse.dunning.level"]
        for move in self:
            level_id, last_date = sent.get(move.id, (False, False))
            move.kpulse_dunning_level_id = Level.browse(level_id)
            move.kpulse_last_dunning_date = last_date and last_date.date()

    @api.depends_context("date")
    def _compute_kpulse_days_overdue(self):
        today = fields.Date.context_today(self)
        for move in self:
            due = move.invoice_date_due
            move.kpulse_days_overdue = (today - due).days if due and due < today else 0

    @api.depends_context("date")
    def _compute_kpulse_can_be_dunned(self):
        eligible = self.filtered_domain(self._kpulse_can_be_dunned_domain())
        for move in self:
            move.kpulse_can_be_dunned = move in eligible

    def _search_kpulse_can_be_dunned(self, operator, value):
        if operator != "in":
            return NotImplemented
        if True in value:
            return self._kpulse_can_be_dunned_domain()
        return ~self._kpulse_can_be_dunned_domain()

    @api.depends_context("date")
    def _compute_kpulse_proposed_level(self):
        levels_by_company = {
            company: self.env["kpulse.dunning.level"]._get_company_levels(company)
            for company in self.company_id
        }
        for move in self:
            level = move._kpulse_next_level(levels_by_company.get(move.company_id))
            move.kpulse_proposed_level_id = level
            move.kpulse_proposed_level_color = level.color

    @api.depends_context("date")
    def _compute_kpulse_auto_next(self):
        taken = self._kpulse_auto_candidates()
        for move in self:
            move.kpulse_auto_next = move in taken

    def _search_kpulse_auto_next(self, operator, value):
        if operator != "in":
            return NotImplemented
        candidates = self.search(self._kpulse_auto_domain())._kpulse_auto_candidates()
        if True in value:
            return [("id", "in", candidates.ids)]
        return [("id", "not in", candidates.ids)]

    # === BUSINESS METHODS === #

    @api.model
    def _kpulse_auto_domain(self):
        """What the automatic run looks at: invoices that can be reminded,
        of customers not on manual follow-up, not reminded within their
        company's minimum gap, with at least its minimum amount due."""
        today = fields.Date.context_today(self)
        per_company = []
        for company in self.env.companies:
            last_allowed = today - timedelta(days=company.kpulse_auto_min_gap_days)
            per_company.append(
                Domain("company_id", "=", company.id)
                & Domain("amount_residual_signed", ">=", company.kpulse_auto_min_amount)
                & (
                    Domain("kpulse_last_dunning_date", "=", False)
                    | Domain("kpulse_last_dunning_date", "<=", last_allowed)
                )
            )
        return (
            self._kpulse_can_be_dunned_domain()
            & Domain("commercial_partner_id.kpulse_manual_followup", "=", False)
            & Domain.OR(per_company or [Domain.FALSE])
        )

    def _kpulse_auto_candidates(self):
        """Those of these invoices the automatic run takes: its domain, and a
        proposed level that is automatic, whose delay is reached and that has
        no reminder waiting to be sent yet."""
        # In SQL: the domain holds computed and related fields, which cost
        # seconds on 10,000 invoices when evaluated in Python.
        ids = [id_ for id_ in self.ids if isinstance(id_, int)]
        moves = self & self.search(Domain("id", "in", ids) & self._kpulse_auto_domain())
        reached = moves.filtered(
            lambda move: move.kpulse_proposed_level_id.automatic
            and move.kpulse_days_overdue >= move.kpulse_proposed_level_id.delay_days
        )
        if not reached:
            return reached
        waiting = self.env["kpulse.dunning.line"]._read_group(
            [
                ("move_id", "in", reached.ids),
                ("dunning_id.state", "in", ("draft", "failed")),
            ],
            ["move_id", "dunning_id.level_id"],
        )
        waiting = set(waiting)
        return reached.filtered(
            lambda move: (move, move.kpulse_proposed_level_id) not in waiting
        )

    @api.model
    def _kpulse_can_be_dunned_domain(self):
        return Domain(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("amount_residual", ">", 0),
                ("invoice_date_due", "<", fields.Date.context_today(self)),
                ("kpulse_dunning_blocked", "=", False),
            ]
        )

    def _kpulse_is_settled(self):
        self.ensure_one()
        return self.payment_state in SETTLED_PAYMENT_STATES or self.currency_id.is_zero(
            self.amount_residual
        )

    def _kpulse_next_level(self, levels):
        """Level proposed for this invoice's next reminder.

        The highest level above the one already sent whose delay the invoice
        has reached; when it has reached none yet, the level just above.
        """
        self.ensure_one()
        current = self.kpulse_dunning_level_id
        higher = (levels or self.env["kpulse.dunning.level"]).filtered(
            lambda lvl: not current
            or (lvl.sequence, lvl.id) > (current.sequence, current.id)
        )
        reached = higher.filtered(
            lambda lvl: lvl.delay_days <= self.kpulse_days_overdue
        )
        return reached[-1:] or higher[:1]

    def _kpulse_refusal_reason(self):
        """Why this invoice cannot be reminded, or False."""
        self.ensure_one()
        if self.move_type != "out_invoice":
            return self.env._("not a customer invoice")
        if self.state != "posted":
            return self.env._("not posted")
        if self._kpulse_is_settled():
            return self.env._("already paid")
        if self.payment_state == "blocked":
            return self.env._("payment blocked on the invoice")
        if (
            not self.invoice_date_due
            or self.invoice_date_due >= fields.Date.context_today(self)
        ):
            return self.env._("not yet due")
        if self.kpulse_dunning_blocked:
            return self.env._(
                "reminders blocked (%(reason)s)",
                reason=self.kpulse_dunning_block_reason
                or self.env._("no reason given"),
            )
        # The domain is the rule: a reason above explains it, this catches
        # any condition of the domain that has no reason of its own yet.
        if not self.filtered_domain(self._kpulse_can_be_dunned_domain()):
            return self.env._("not eligible for reminders")
        return False

    def _kpulse_check_can_be_dunned(self):
        refused = [
            (move, reason) for move in self if (reason := move._kpulse_refusal_reason())
        ]
        if refused:
            raise UserError(
                self.env._(
                    "These invoices cannot be reminded:\n%(invoices)s",
                    invoices="\n".join(
                        f"- {move.display_name}: {reason}" for move, reason in refused
                    ),
                )
            )

    def _kpulse_ensure_access_tokens(self):
        """Give every invoice its portal access token in one query.

        The portal's own ``_portal_ensure_token`` writes invoices one by one,
        and an invoice write is heavy; reminders sent by the hundred need the
        links of all their invoices at once.
        """
        missing = self.filtered(lambda move: not move.access_token)
        if not missing:
            return
        missing.flush_recordset(["access_token"])
        # Raw SQL, safe: only the token column of invoices that have none
        # (the IS NULL keeps a token given meanwhile), bound parameters, cache
        # invalidated after. Called where reminders are created or sent,
        # never from a compute or a render.
        self.env.execute_query(
            SQL(
                "UPDATE account_move SET access_token = gen_random_uuid()::text "
                "WHERE id IN %s AND access_token IS NULL",
                tuple(missing.ids),
            )
        )
        missing.invalidate_recordset(["access_token"])

    def _kpulse_close_paid_dunnings(self):
        """Reminders not yet sent whose invoices are all settled become paid."""
        dunnings = self.kpulse_dunning_line_ids.dunning_id.filtered(
            lambda d: d.state in ("draft", "failed")
        )
        paid, _settled_ids = dunnings._split_settled()
        paid.write({"state": "paid"})

    def _kpulse_penalty_values(self, date):
        """Late-payment penalty and fixed recovery indemnity of each invoice
        on ``date`` (Code de commerce L441-10 and D441-5, Directive 2011/7/EU).

        Which invoices bear them is decided here (posted customer invoices
        with an amount due, late on at least one instalment, of professional
        customers not excluded, in companies
        that apply penalties); the maths are the reference rates' (see
        ``kpulse.dunning.rate._penalty_breakdown``). Amounts are in the
        invoice currency; ``penalty_rate`` is the rate of the last day.

        :return: {move id: {"penalty_amount", "indemnity_amount",
            "penalty_rate", "periods"}}
        """
        bearing = self.filtered(
            lambda move: move.move_type == "out_invoice"
            and move.state == "posted"
            and move.currency_id.compare_amounts(move.amount_residual, 0) > 0
            and move.company_id.kpulse_penalty_apply
            and move.commercial_partner_id.kpulse_is_professional
            and not move.commercial_partner_id.kpulse_penalty_excluded
        )
        breakdown = self.env["kpulse.dunning.rate"]._penalty_breakdown(bearing, date)
        indemnities = {}  # (company, currency): one conversion each
        values = {}
        for move in self:
            move_values = breakdown.get(move.id)
            if not move_values or not move_values["periods"]:
                values[move.id] = {
                    "penalty_amount": 0.0,
                    "indemnity_amount": 0.0,
                    "penalty_rate": 0.0,
                    "periods": [],
                }
                continue
            company, currency = move.company_id, move.currency_id
            if (company, currency) not in indemnities:
                # Set in euros by law: converted at the reminder date.
                indemnities[company, currency] = (
                    company.kpulse_indemnity_currency_id._convert(
                        company.kpulse_indemnity_amount, currency, company, date
                    )
                )
            values[move.id] = dict(
                move_values, indemnity_amount=indemnities[company, currency]
            )
        return values

    # === ACTIONS === #

    def action_kpulse_open_dunnings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_action"
        )
        action["domain"] = [("move_ids", "in", self.ids)]
        action["context"] = {"create": False}
        return action

    def action_kpulse_create_dunnings(self):
        """Open the reminder wizard on the selected invoices."""
        self._kpulse_check_can_be_dunned()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Create Reminders"),
            "res_model": "kpulse.dunning.create",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_ids": self.ids},
        }
