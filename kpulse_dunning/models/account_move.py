from collections import Counter, defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import LockError, UserError
from odoo.fields import Domain
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

SETTLED_PAYMENT_STATES = ("paid", "in_payment", "reversed")
# Payment states of an invoice whose late-payment charges can be claimed.
PAID_STATES = ("paid", "in_payment")


def _days_late(due, today):
    """Days an invoice due on ``due`` is late on ``today`` (0 if not due)."""
    return (today - due).days if due and due < today else 0


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

    kpulse_paid_late = fields.Boolean(
        string="Paid Late",
        compute="_compute_kpulse_paid_late",
        search="_search_kpulse_paid_late",
        help="Posted customer invoice of a professional customer, paid, with "
        "at least one payment reconciled after its due date, not blocked "
        "and not claimed yet: its late-payment penalties and fixed "
        "indemnity can be claimed.",
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
        "kpulse_dunning_line_ids.dunning_id.claim_type",
        "kpulse_dunning_line_ids.dunning_id.sent_date",
        "kpulse_dunning_line_ids.dunning_id.state",
        "kpulse_dunning_line_ids.dunning_id.level_id",
    )
    def _compute_kpulse_dunning_level(self):
        # One query for the whole batch: thousands of moves are recomputed
        # whenever reminders are created or escalated.
        self.env["kpulse.dunning.line"].flush_model(["move_id", "dunning_id"])
        self.env["kpulse.dunning"].flush_model(
            ["sent_date", "state", "level_id", "claim_type"]
        )
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
                   AND dunning.claim_type = 'reminder'
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
            move.kpulse_days_overdue = _days_late(due, today)

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

    @api.depends(
        "payment_state",
        "kpulse_dunning_blocked",
        "line_ids.matched_credit_ids",
        "kpulse_dunning_line_ids.dunning_id.state",
        "kpulse_dunning_line_ids.dunning_id.claim_type",
    )
    def _compute_kpulse_paid_late(self):
        late_ids = self._kpulse_late_payment_ids()  # one query for the batch
        eligible = self.filtered_domain(self._kpulse_paid_late_domain(custom=False))
        for move in self:
            move.kpulse_paid_late = move in eligible and move.id in late_ids

    def _search_kpulse_paid_late(self, operator, value):
        if operator != "in":
            return NotImplemented
        if True in value:
            return self._kpulse_paid_late_domain()
        return ~self._kpulse_paid_late_domain()

    @api.depends_context("date")
    def _compute_kpulse_proposed_level(self):
        # The "New reminders" list and the wizard ask this of thousands of
        # invoices at once: plain values per company, one assignment per
        # proposed level.
        today = fields.Date.context_today(self)
        chains = self._kpulse_level_chains(self.company_id)
        empty = self.env["kpulse.dunning.level"]
        proposed = defaultdict(list)
        for move in self:
            current = move.kpulse_dunning_level_id
            due = move.invoice_date_due
            level = self._kpulse_next_level(
                chains.get(move.company_id.id, []),
                current and (current.sequence, current.id),
                _days_late(due, today),
            )
            proposed[level or empty].append(move.id)
        for level, ids in proposed.items():
            moves = self.browse(ids)
            moves.kpulse_proposed_level_id = level
            moves.kpulse_proposed_level_color = level.color

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

    @api.model
    def _kpulse_late_payment_sql(self):
        """Ids of the customer invoices with a payment (or credit note)
        reconciled with one of their instalments after its due date: the
        dates the day-by-day accrual uses (see ``_receivable_instalments``).
        Exchange-difference entries settle no amount in the invoice currency
        (``debit_amount_currency`` 0): they do not make an invoice late."""
        return SQL(
            """
            SELECT line.move_id
              FROM account_move_line AS line
              JOIN account_move AS move ON move.id = line.move_id
              JOIN account_partial_reconcile AS partial
                ON partial.debit_move_id = line.id
              JOIN account_move_line AS counterpart
                ON counterpart.id = partial.credit_move_id
             WHERE move.move_type = 'out_invoice'
               AND line.display_type = 'payment_term'
               AND line.amount_currency > 0
               AND partial.debit_amount_currency > 0
               AND counterpart.date
                   > COALESCE(line.date_maturity, move.invoice_date_due)
            """
        )

    @api.model
    def _kpulse_flush_reconciliations(self):
        self.env["account.move.line"].flush_model(
            ["move_id", "display_type", "date_maturity", "amount_currency", "date"]
        )
        self.env["account.partial.reconcile"].flush_model(
            ["debit_move_id", "credit_move_id", "debit_amount_currency"]
        )
        self.flush_model(["move_type", "invoice_date_due"])

    def _kpulse_late_payment_ids(self):
        """Those of these invoices with a payment after a due date: one query."""
        ids = tuple(id_ for id_ in self.ids if isinstance(id_, int))
        if not ids:
            return set()
        self._kpulse_flush_reconciliations()
        # Raw SQL, safe: a fixed query, ids bound by SQL(), inputs flushed
        # above; it only tells which of these (already readable) invoices
        # were paid after a due date.
        rows = self.env.execute_query(
            SQL("%s AND line.move_id IN %s", self._kpulse_late_payment_sql(), ids)
        )
        return {move_id for (move_id,) in rows}

    @api.model
    def _kpulse_paid_late_domain(self, custom=True):
        """Invoices whose late-payment charges can be claimed: paid, late on
        an instalment, of professional customers bearing penalties in a
        company that applies them, not blocked, not claimed yet.

        Without ``custom``, the condition on the payments' dates (a query)
        is left out."""

        def late_to_sql(model, alias, query):
            model._kpulse_flush_reconciliations()
            # Raw SQL, safe: a fixed subquery without parameters, restricted
            # by the rest of the domain (and the record rules) of the search.
            return SQL(
                "%s IN (%s)",
                SQL.identifier(alias, "id"),
                model._kpulse_late_payment_sql(),
            )

        domain = Domain(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", PAID_STATES),
                ("kpulse_dunning_blocked", "=", False),
                ("company_id.kpulse_penalty_apply", "=", True),
                ("commercial_partner_id.kpulse_is_professional", "=", True),
                ("commercial_partner_id.kpulse_penalty_excluded", "=", False),
            ]
        ) & Domain(
            "kpulse_dunning_line_ids",
            "not any",
            [
                ("dunning_id.claim_type", "=", "late_payment"),
                ("dunning_id.state", "!=", "cancel"),
            ],
        )
        if not custom:
            return domain
        # In memory (filtered_domain), the field computed for the whole batch.
        return domain & Domain.custom(
            to_sql=late_to_sql, predicate=lambda move: move.kpulse_paid_late
        )

    def _kpulse_is_settled(self):
        self.ensure_one()
        return self.payment_state in SETTLED_PAYMENT_STATES or self.currency_id.is_zero(
            self.amount_residual
        )

    def _kpulse_settled_ids(self):
        """Ids of these invoices with nothing left to claim, as
        ``_kpulse_is_settled`` finds them one by one, in one search: paid,
        or an amount due that rounds to zero in the invoice's currency."""
        if not self:
            return set()
        # sudo: it only narrows down the invoices given, which the caller
        # chose; a record rule must not make a paid invoice look due.
        nothing_due = Domain.OR(
            Domain("currency_id", "=", currency.id)
            & Domain("amount_residual", ">", -currency.rounding / 2)
            & Domain("amount_residual", "<", currency.rounding / 2)
            for currency in self.sudo().currency_id
        )
        settled = self.sudo().search(
            Domain("id", "in", self.ids)
            & (Domain("payment_state", "in", SETTLED_PAYMENT_STATES) | nothing_due)
        )
        return set(settled.ids)

    @api.model
    def _kpulse_level_chains(self, companies):
        """{company id: [((sequence, id), delay_days, level)]} of each
        company's levels, in order, for ``_kpulse_next_level``."""
        Level = self.env["kpulse.dunning.level"]
        return {
            company.id: [
                ((level.sequence, level.id), level.delay_days, level)
                for level in Level._get_company_levels(company)
            ]
            for company in companies
        }

    def _kpulse_proposed_level_counts(self):
        """How many of these saved invoices each level is proposed for.

        Invoices of one company, with the same level sent and the same due
        date, get the same proposal: one grouped query instead of reading
        the proposal of 10,000 invoices one by one (the wizard's vote).
        """
        today = fields.Date.context_today(self)
        groups = self._read_group(
            Domain("id", "in", self.ids),
            ["company_id", "kpulse_dunning_level_id", "invoice_date_due:day"],
            ["__count"],
        )
        chains = self._kpulse_level_chains(
            self.env["res.company"].union(*(group[0] for group in groups))
        )
        counts = Counter()
        for company, current, due, count in groups:
            level = self._kpulse_next_level(
                chains[company.id],
                current and (current.sequence, current.id),
                _days_late(due, today),
            )
            if level:
                counts[level] += count
        return counts

    @api.model
    def _kpulse_next_level(self, chain, current, days_overdue):
        """Level proposed for an invoice's next reminder.

        The highest level above the one already sent whose delay the invoice
        has reached; when it has reached none yet, the level just above.

        :param list chain: ``((sequence, id), delay_days, level)`` of the
            company's levels, in order.
        :param current: ``(sequence, id)`` of the level already sent, or a
            false value.
        """
        higher = [step for step in chain if not current or step[0] > current]
        reached = [step for step in higher if step[1] <= days_overdue]
        step = reached[-1] if reached else (higher[0] if higher else None)
        return step[2] if step else None

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
        # The domain once for the batch, in one query (in Python it costs
        # 0.6 s on 10,000 invoices): the reasons are looked for only on what
        # it refuses, not evaluated invoice by invoice.
        eligible = self.search(
            Domain("id", "in", self.ids) & self._kpulse_can_be_dunned_domain()
        )
        refused = [
            (move, reason)
            for move in self - eligible
            if (reason := move._kpulse_refusal_reason())
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

    def _kpulse_existing_claims(self):
        """{invoice: its late-payment claim not cancelled} of these invoices."""
        # sudo: the check must see every claim of these invoices, also one a
        # record rule hides from the user; only the claims' names are shown.
        lines = (
            self.env["kpulse.dunning.line"]
            .sudo()
            .search(
                [
                    ("move_id", "in", self.ids),
                    ("dunning_id.claim_type", "=", "late_payment"),
                    ("dunning_id.state", "!=", "cancel"),
                ]
            )
        )
        return {line.move_id.with_env(self.env): line.dunning_id for line in lines}

    def _kpulse_claim_refusal_reason(self, late_ids, claims):
        """Why the late-payment charges of this invoice cannot be claimed,
        or False. ``late_ids``, ``claims``: see ``_kpulse_check_can_be_claimed``."""
        self.ensure_one()
        partner = self.commercial_partner_id
        if self.move_type != "out_invoice":
            return self.env._("not a customer invoice")
        if self.state != "posted":
            return self.env._("not posted")
        if self.payment_state == "reversed":
            return self.env._("reversed by a credit note")
        if self.payment_state not in PAID_STATES:
            return self.env._("not paid yet: create a reminder instead")
        if self.kpulse_dunning_blocked:
            return self.env._(
                "reminders blocked (%(reason)s)",
                reason=self.kpulse_dunning_block_reason
                or self.env._("no reason given"),
            )
        if not self.company_id.kpulse_penalty_apply:
            return self.env._(
                "%(company)s does not apply late-payment penalties",
                company=self.company_id.name,
            )
        if not partner.kpulse_is_professional:
            return self.env._("not a professional customer")
        if partner.kpulse_penalty_excluded:
            return self.env._("customer excluded from late-payment penalties")
        if self in claims:
            return self.env._("already claimed in %(claim)s", claim=claims[self].name)
        if self.id not in late_ids:
            return self.env._("paid on time")
        if not self.filtered_domain(self._kpulse_paid_late_domain(custom=False)):
            return self.env._("not eligible for a late-payment claim")
        return False

    def _kpulse_check_can_be_claimed(self):
        if not self:
            raise UserError(
                self.env._(
                    "Select at least one invoice paid late to claim its "
                    "late-payment charges."
                )
            )
        late_ids = self._kpulse_late_payment_ids()
        claims = self._kpulse_existing_claims()
        refused = [
            (move, reason)
            for move in self
            if (reason := move._kpulse_claim_refusal_reason(late_ids, claims))
        ]
        if refused:
            raise UserError(
                self.env._(
                    "The late-payment charges of these invoices cannot be "
                    "claimed:\n%(invoices)s",
                    invoices="\n".join(
                        f"- {move.display_name}: {reason}" for move, reason in refused
                    ),
                )
            )

    def _kpulse_create_late_payment_claims(self):
        """Create the late-payment claims of these invoices paid late, with
        each company's claim template and grouping; return them."""
        self.check_access("read")
        self.env["kpulse.dunning"].check_access("create")
        if self:
            try:
                self.lock_for_update(allow_referencing=True)
            except LockError:
                raise UserError(
                    self.env._(
                        "Another user is working on some of these invoices "
                        "right now. Try again in a moment."
                    )
                ) from None
        self._kpulse_check_can_be_claimed()
        Dunning = self.env["kpulse.dunning"]
        Template = self.env["kpulse.dunning.template"]
        today = fields.Date.context_today(self)
        penalties = self._kpulse_penalty_values(today, claim=True)
        self.commercial_partner_id.child_ids.mapped("email")  # one query
        vals_list = []
        for company, moves in self.grouped("company_id").items():
            template = Template._get_claim_template(company)
            if not template:
                raise UserError(
                    self.env._(
                        "No active late-payment claim template for %(company)s: "
                        "create one in Reminder Templates (kind “Late-payment "
                        "claim”).",
                        company=company.name,
                    )
                )
            if company.kpulse_dunning_grouping == "partner":
                groups = moves.grouped(
                    lambda m: (m.commercial_partner_id, m.currency_id)
                ).values()
            else:
                groups = list(moves)
            vals_list += [
                Dunning._prepare_vals(
                    group,
                    template,
                    penalties=penalties,
                    claim_type="late_payment",
                    date=today,
                )
                for group in groups
            ]
        return Dunning._create_batch(vals_list)

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

    def _kpulse_fetch_for_reminders(self):
        """Read what creating reminders reads of these invoices, in one
        query per 1,000: the first read of any field would fetch all of an
        invoice's fields, which costs more than the reminders' maths."""
        self.fetch(
            [
                "move_type",
                "state",
                "payment_state",
                "company_id",
                "currency_id",
                "commercial_partner_id",
                "amount_residual",
                "invoice_date_due",
                "invoice_user_id",
            ]
        )

    def _kpulse_penalty_values(self, date, claim=False):
        """Late-payment penalty and fixed recovery indemnity of each invoice
        on ``date`` (Code de commerce L441-10 and D441-5, Directive 2011/7/EU).

        With ``claim``, invoices already paid bear them too (a late-payment
        claim): their penalties run from each due date to each payment.

        Which invoices bear them is decided here (posted customer invoices
        with an amount due, late on at least one instalment, of professional
        customers not excluded, in companies
        that apply penalties); the maths are the reference rates' (see
        ``kpulse.dunning.rate._penalty_breakdown``). Amounts are in the
        invoice currency; ``penalty_rate`` is the rate of the last day.

        :return: {move id: {"penalty_amount", "indemnity_amount",
            "penalty_rate", "periods"}}
        """
        # The rule in one query, not six reads per invoice of 10,000 (the
        # amounts due are stored rounded to their currency). sudo: it only
        # narrows down the invoices given, which the caller has read; a
        # record rule must not silently spare one of them its penalties.
        due = Domain("amount_residual", ">", 0)
        if claim:
            due |= Domain("payment_state", "in", PAID_STATES)
        # Grouped as the breakdown and the indemnity need them, in the same
        # query that finds them (sudo, as said above: the companies and
        # customers grouped on are read for their penalty settings only).
        groups = self.sudo()._read_group(
            Domain("id", "in", self.ids)
            & Domain("move_type", "=", "out_invoice")
            & Domain("state", "=", "posted")
            & Domain("company_id.kpulse_penalty_apply", "=", True)
            & Domain("commercial_partner_id.kpulse_is_professional", "=", True)
            & Domain("commercial_partner_id.kpulse_penalty_excluded", "=", False)
            & due,
            ["company_id", "currency_id", "commercial_partner_id"],
            ["id:array_agg"],
        )
        bearing = self.browse(
            move_id for *_group, move_ids in groups for move_id in move_ids
        )
        breakdown = self.env["kpulse.dunning.rate"]._penalty_breakdown(
            bearing, date, groups=groups
        )
        # The indemnity is set in euros by law: converted at the reminder
        # date, once per company and currency.
        late_ids_by_currency = defaultdict(list)
        for company, currency, _partner, move_ids in groups:
            late_ids_by_currency[company, currency] += [
                move_id for move_id in move_ids if breakdown[move_id]["periods"]
            ]
        indemnity_of = {}
        for (company, currency), late_ids in late_ids_by_currency.items():
            if late_ids:
                indemnity = company.kpulse_indemnity_currency_id._convert(
                    company.kpulse_indemnity_amount, currency, company, date
                )
                indemnity_of.update(dict.fromkeys(late_ids, indemnity))
        values = {}
        for move_id in self.ids:
            if move_id in indemnity_of:
                values[move_id] = dict(
                    breakdown[move_id], indemnity_amount=indemnity_of[move_id]
                )
            else:
                values[move_id] = {
                    "penalty_amount": 0.0,
                    "indemnity_amount": 0.0,
                    "penalty_rate": 0.0,
                    "periods": [],
                }
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

    def action_kpulse_claim_late_payment(self):
        """Create the late-payment claims of the selected invoices paid late
        and open them."""
        claims = self._kpulse_create_late_payment_claims()
        return self.env["kpulse.dunning"]._open_dunnings(claims)

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
