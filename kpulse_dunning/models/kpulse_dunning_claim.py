from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tools import SQL
from odoo.tools.misc import format_date

from .kpulse_dunning import SENDABLE_STATES

# Stored totals a batch writes itself, not recomputed line by line.
TOTAL_FIELDS = ("amount_residual", "penalty_total", "indemnity_total", "amount_claimed")


class KpulseDunning(models.Model):
    """What a reminder claims: late-payment penalties and fixed indemnities,
    their totals refreshed on the day of sending, and the charges invoice of
    a late-payment claim."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

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

    # === BUSINESS METHODS: AMOUNTS === #

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

    # === ACTIONS === #

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

    # === BUSINESS METHODS: CHARGES INVOICE === #

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
