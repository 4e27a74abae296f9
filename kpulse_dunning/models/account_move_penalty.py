from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import LockError, UserError
from odoo.fields import Domain
from odoo.tools import SQL

# Payment states of an invoice whose late-payment charges can be claimed.
PAID_STATES = ("paid", "in_payment")


class AccountMove(models.Model):
    """The invoice's late-payment side: the penalties and fixed indemnity it
    bears, whether it was paid late, and the late-payment claims made of
    such invoices."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    kpulse_paid_late = fields.Boolean(
        string="Paid Late",
        compute="_compute_kpulse_paid_late",
        search="_search_kpulse_paid_late",
        help="Posted customer invoice of a professional customer, paid, with "
        "at least one payment reconciled after its due date, not blocked "
        "and not claimed yet: its late-payment penalties and fixed "
        "indemnity can be claimed.",
    )

    # === COMPUTE METHODS === #

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

    # === BUSINESS METHODS === #

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

    # === ACTIONS === #

    def action_kpulse_claim_late_payment(self):
        """Create the late-payment claims of the selected invoices paid late
        and open them."""
        claims = self._kpulse_create_late_payment_claims()
        return self.env["kpulse.dunning"]._open_dunnings(claims)
