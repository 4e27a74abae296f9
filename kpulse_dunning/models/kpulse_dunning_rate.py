from bisect import bisect_right
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.tools import SQL, float_round
from odoo.tools.misc import format_date

# Late-payment penalties are prorated over 365 days, also in leap years.
PENALTY_DAYS_PER_YEAR = 365
# Public buyers: ECB reference rate plus 8 points (Code de la commande
# publique R2192-31), whatever the company's own settings.
PUBLIC_BUYER_MARGIN = 8.0


def _half_year_start(day):
    return day.replace(month=1 if day.month <= 6 else 7, day=1)


def _half_year_end(day):
    if day.month <= 6:
        return day.replace(month=6, day=30)
    return day.replace(month=12, day=31)


def _late_periods(due, payments, last):
    """Periods of constant amount due within one half-year.

    :param due: (due date, amount due on it) of one instalment
    :param payments: [(payment date, amount)] reconciled with it, any order
    :param last: the last day counted (the computation date)
    :return: [(first day, last day, amount due)]: the late days run from the
        day after the due date; a payment stops the interest on its amount
        after its own date (that day is still late).
    """
    due_date, amount = due
    changes = defaultdict(float)  # first day with a lower amount: amount paid
    for pay_date, pay_amount in payments:
        changes[max(pay_date, due_date) + timedelta(days=1)] += pay_amount
    periods = []
    day = due_date + timedelta(days=1)
    for change in sorted(changes):
        if change > day:
            periods.append((day, min(change - timedelta(days=1), last), amount))
            day = change
        amount -= changes[change]
        if day > last:
            break
    if day <= last:
        periods.append((day, last, amount))
    split = []
    for first, end, base in periods:
        while first <= end:
            stop = min(_half_year_end(first), end)
            split.append((first, stop, base))
            first = stop + timedelta(days=1)
    return split


class KpulseDunningRate(models.Model):
    _name = "kpulse.dunning.rate"
    _description = "Late-Payment Reference Rate"
    _order = "date_from desc"
    _rec_name = "date_from"

    date_from = fields.Date(string="Valid From", required=True)
    rate = fields.Float(
        string="Rate (%)",
        digits=(16, 4),
        help="ECB main refinancing rate in force from this date.",
    )
    missing_after = fields.Char(
        string="Missing Next",
        compute="_compute_missing_after",
        help="Half-years after this rate, up to today's, that have no "
        "reference rate: penalties of their days use this rate until they "
        "are added.",
    )

    _unique_date_from = models.Constraint(
        "UNIQUE(date_from)",
        "A reference rate already starts on this date: edit it instead.",
    )

    # === COMPUTE METHODS === #

    def _compute_missing_after(self):
        starts = {date_from for date_from, _rate in self._rate_table()}
        today = fields.Date.context_today(self)
        for rate in self:
            missing = []
            day = rate.date_from and _half_year_end(rate.date_from)
            while day and day < today:
                day += timedelta(days=1)
                if day in starts:
                    break
                missing.append(format_date(self.env, day))
                day = _half_year_end(day)
            rate.missing_after = ", ".join(missing)

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()  # _rate_table
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    # === BUSINESS METHODS === #

    @api.model
    @tools.ormcache()
    def _rate_table(self):
        # A few rows that change twice a year: cached, so that reminders
        # created one by one in a batch do not read them each time.
        # sudo: the rates are public legal figures every user's reminders
        # need; the cache must not depend on who filled it.
        rows = self.sudo().search_fetch([], ["date_from", "rate"], order="date_from")
        return tuple((row.date_from, row.rate) for row in rows)

    @api.model
    def _get_rates(self, dates):
        """{date: rate (%) in force on that date} for each of ``dates``.

        The rate in force is the one of the latest row starting on or before
        the date; None before the first row (unknown, not 0).
        """
        table = self._rate_table()
        starts = [date_from for date_from, _rate in table]
        rates = {}
        for day in dates:
            index = bisect_right(starts, day)
            rates[day] = table[index - 1][1] if index else None
        return rates

    @api.model
    def _missing_half_years(self, first, last):
        """First days of the half-years from ``first``'s to ``last``'s that
        have no reference rate of their own."""
        starts = {date_from for date_from, _rate in self._rate_table()}
        missing = []
        day = _half_year_start(first) if first else last
        while first and day <= last:
            if day not in starts:
                missing.append(day)
            day = _half_year_end(day) + timedelta(days=1)
        return missing

    @api.model
    def _missing_rates_warning(self, first, last):
        """A warning naming the half-years between ``first`` and ``last``
        (dates) with no reference rate, or False."""
        missing = self._missing_half_years(first, last)
        if not missing:
            return False
        return self.env._(
            "No reference rate for the half-year(s) starting %(dates)s: add "
            "them in Reference Rates. Until then, their days use the rate in "
            "force before; before the first rate, no penalty is computed.",
            dates=", ".join(format_date(self.env, day) for day in missing),
        )

    @api.model
    def _get_rate(self, date):
        return self._get_rates([date])[date]

    # === PENALTIES === #

    @api.model
    def _penalty_breakdown(self, moves, date, groups=None):
        """Late-payment penalty of each of ``moves`` on ``date``, accrued day
        by day on the amount still due that day (L441-10, Directive 2011/7/EU).

        Each instalment (receivable line) is late from the day after its own
        due date; each payment reconciled with it stops the interest on its
        amount after the payment's date. Periods are cut at every payment and
        on 1 January and 1 July, when the reference rate changes. For each
        period: amount = base × annual rate × days / 365, rounded in the
        invoice currency; the penalty is the sum of the periods, so that the
        customer can recompute it from the breakdown.

        The caller decides which moves bear penalties; all of them are
        computed here in one query.

        :param list groups: ``moves`` grouped by company, currency and
            commercial partner (``_read_group`` rows ending with their ids),
            when the caller has them.

        :return: {move id: {"penalty_amount", "penalty_rate", "periods":
            [{"date_due", "date_from", "date_to", "days", "base_amount",
            "rate", "amount"}]}}; ``penalty_rate`` is the rate of the last day.
        """
        if not moves:
            return {}
        late_periods = {
            move_id: [
                (due, _late_periods(due, payments, date)) for due, payments in lines
            ]
            for move_id, lines in self._receivable_instalments(moves, date).items()
        }
        reference_rates = self._get_rates(
            {
                _half_year_start(first)
                for lines in late_periods.values()
                for _due, periods in lines
                for first, _end, _base in periods
            }
        )
        values = {}
        # Per company, currency and customer once, with the ids of their
        # invoices: read invoice by invoice, these settings cost more than
        # the maths on 10,000 invoices. sudo: it only groups the invoices
        # given, which the caller chose; a record rule must not drop one.
        if groups is None:
            groups = moves.sudo()._read_group(
                [("id", "in", moves.ids)],
                ["company_id", "currency_id", "commercial_partner_id"],
                ["id:array_agg"],
            )
        for company, currency, partner, move_ids in groups:
            settings = (
                currency.rounding,
                partner.kpulse_penalty_category == "public",
                company.kpulse_penalty_fixed_rate
                if company.kpulse_penalty_rate_mode == "fixed"
                else None,
                company.kpulse_penalty_margin,
            )
            for move_id in move_ids:
                values[move_id] = self._move_penalty(
                    late_periods.get(move_id, ()), reference_rates, *settings
                )
        return values

    @api.model
    def _move_penalty(
        self, late_periods, reference_rates, rounding, public, fixed_rate, margin
    ):
        """One invoice's penalty from its late periods and its settings: see
        ``_penalty_breakdown``."""
        periods = []
        for due, due_periods in late_periods:
            for first, end, base in due_periods:
                base = float_round(base, precision_rounding=rounding)
                if base <= 0:
                    continue
                reference = reference_rates[_half_year_start(first)]
                if public:
                    if reference is None:
                        continue  # before the first known rate
                    rate = reference + PUBLIC_BUYER_MARGIN
                elif fixed_rate is not None:
                    rate = fixed_rate
                elif reference is None:
                    continue  # before the first known rate: see warnings
                else:
                    rate = reference + margin
                days = (end - first).days + 1
                periods.append(
                    {
                        "date_due": due[0],
                        "date_from": first,
                        "date_to": end,
                        "days": days,
                        "base_amount": base,
                        "rate": rate,
                        "amount": float_round(
                            base * rate * days / 100 / PENALTY_DAYS_PER_YEAR,
                            precision_rounding=rounding,
                        ),
                    }
                )
        last = max(periods, key=lambda p: (p["date_to"], p["date_due"]), default={})
        return {
            "penalty_amount": float_round(
                sum(p["amount"] for p in periods), precision_rounding=rounding
            ),
            "penalty_rate": last.get("rate", 0.0),
            "periods": periods,
        }

    @api.model
    def _receivable_instalments(self, moves, date):
        """{move id: [((due date, amount), [(payment date, amount)])]} of the
        receivable lines of ``moves`` due before ``date``, in the invoice
        currency, with the payments (and credit notes) reconciled with them
        up to ``date``: one query for the whole batch."""
        self.env["account.move.line"].flush_model(
            ["move_id", "display_type", "date_maturity", "amount_currency", "date"]
        )
        self.env["account.partial.reconcile"].flush_model(
            ["debit_move_id", "credit_move_id", "debit_amount_currency"]
        )
        # Raw SQL, safe: parameters bound by SQL(), inputs flushed above; the
        # rows are the receivable lines of invoices the caller already read,
        # and the dates and amounts of their own reconciliations.
        rows = self.env.execute_query(
            SQL(
                """
                SELECT line.move_id, line.id,
                    COALESCE(line.date_maturity, move.invoice_date_due),
                    line.amount_currency, counterpart.date,
                    partial.debit_amount_currency
                FROM account_move_line AS line
                JOIN account_move AS move ON move.id = line.move_id
                LEFT JOIN account_partial_reconcile AS partial
                    ON partial.debit_move_id = line.id
                LEFT JOIN account_move_line AS counterpart
                    ON counterpart.id = partial.credit_move_id
                    AND counterpart.date <= %(date)s
                WHERE line.move_id IN %(move_ids)s
                    AND line.display_type = 'payment_term'
                    AND COALESCE(line.date_maturity, move.invoice_date_due) < %(date)s
                    AND line.amount_currency > 0
                ORDER BY line.move_id, line.id
                """,
                move_ids=tuple(moves.ids),
                date=date,
            )
        )
        lines = {}
        for move_id, line_id, due, amount, pay_date, pay_amount in rows:
            entry = lines.setdefault(line_id, (move_id, (due, amount), []))
            if pay_date:
                entry[2].append((pay_date, pay_amount))
        instalments = defaultdict(list)
        for move_id, due, payments in lines.values():
            instalments[move_id].append((due, payments))
        return instalments
