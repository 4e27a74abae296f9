from collections import Counter, defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

SETTLED_PAYMENT_STATES = ("paid", "in_payment", "reversed")


def _days_late(due, today):
    """Days an invoice due on ``due`` is late on ``today`` (0 if not due)."""
    return (today - due).days if due and due < today else 0


class AccountMove(models.Model):
    """Which invoices may be reminded, at which level, and why not: the one
    eligibility domain that *New reminders*, the wizard and the automatic
    runs share, and the refusal reasons derived from it."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    kpulse_can_be_dunned = fields.Boolean(
        string="Can Be Reminded",
        compute="_compute_kpulse_can_be_dunned",
        search="_search_kpulse_can_be_dunned",
        help="Posted customer invoice, overdue (or in the courtesy reminder "
        "window before its due date), with an amount still due and not "
        "blocked from reminders.",
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

    # === COMPUTE METHODS === #

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
                self._kpulse_days_past_due(due, today),
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
        of customers not on manual follow-up nor with a reply to handle,
        not reminded within their
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
            # A customer's reply waits for the responsible: no new reminder.
            & Domain("commercial_partner_id.kpulse_reply_pending", "=", False)
            # The customer promised to pay: wait until kept or broken.
            & Domain("kpulse_promise_running", "=", False)
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
        return (
            Domain(
                [
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("amount_residual", ">", 0),
                    ("kpulse_dunning_blocked", "=", False),
                    # Under dispute: not reminded until the dispute is resolved.
                    ("kpulse_dispute_id", "=", False),
                ]
            )
            & self._kpulse_due_domain()
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
                self._kpulse_days_past_due(due, today),
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
        if not_due := self._kpulse_not_due_reason():
            return not_due
        if self.kpulse_dunning_blocked:
            return self.env._(
                "reminders blocked (%(reason)s)",
                reason=self.kpulse_dunning_block_reason
                or self.env._("no reason given"),
            )
        if self.kpulse_dispute_id:
            return self.env._(
                "under dispute (%(reason)s)",
                reason=self.kpulse_dispute_id.reason_id.name,
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
