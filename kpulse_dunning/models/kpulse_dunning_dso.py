from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

# Default DSO period: the last 3 months up to today.
DSO_DEFAULT_MONTHS = 3
DSO_MAX_MONTHS = 24
# Posted documents that make the receivables the aging and the DSO read: the
# customer invoices and credit notes (as the customer statement).
RECEIVABLE_MOVE_TYPES = ("out_invoice", "out_refund")


class KpulseDunningDso(models.AbstractModel):
    """Open receivables on a date and days sales outstanding (DSO), written
    once in SQL for the aging report, the customer form and the dashboard.

    *Open items on a date D*: the receivable lines (``payment_term``) of the
    posted customer invoices and credit notes dated D or before, with what
    was still due on D in the company's currency: the line's balance less
    the reconciliations dated D or before (``account.partial.reconcile``'s
    ``max_date``, as Odoo's aged receivable). On today, that is the line's
    ``amount_residual``. Credit notes count negative.

    *DSO by the countback method* (docs/analysis.md has a worked example):
    the balance B of the open items on the end date E is counted back
    against the credit sales (invoices less credit notes, ``amount_total_
    signed``) of the months before E, the most recent first. Each month
    whose sales what is left of B covers adds all its days and is taken off
    it; the first month it does not cover adds its days x (B left / its
    sales), and the walk stops there, as it stops when nothing is left of
    B. The months are rolling: month 0 runs from E less one month
    (excluded) to E, month 1 the month before, and so on, for the months of
    the period. When B covers all the sales of the period, the DSO is the
    period's days; when B is zero or less, it is 0.

    Both read through the ORM's searches (``_search``), with the reader's
    record rules: a salesman restricted to his own documents counts his
    own invoices only.
    """

    _name = "kpulse.dunning.dso"
    _description = "Days Sales Outstanding"

    # === PERIOD === #

    @api.model
    def _dso_period(self):
        """``(end date, months)`` of the DSO: the context's
        ``kpulse_dso_date`` and ``kpulse_dso_months`` (set by *DSO period*),
        else today and the last 3 months."""
        context = self.env.context
        date_to = context.get("kpulse_dso_date")
        date_to = (
            fields.Date.to_date(date_to) if date_to else fields.Date.context_today(self)
        )
        months = context.get("kpulse_dso_months") or DSO_DEFAULT_MONTHS
        return date_to, self._dso_check_months(months)

    @api.model
    def _dso_check_months(self, months):
        try:
            months = int(months)
        except (TypeError, ValueError):
            months = 0
        if not 1 <= months <= DSO_MAX_MONTHS:
            raise ValidationError(
                self.env._(
                    "The DSO period counts from 1 to %(max)s months.",
                    max=DSO_MAX_MONTHS,
                )
            )
        return months

    @api.model
    def _dso_windows(self, date_to, months):
        """The months of the period, most recent first: ``[(index, first
        day, last day, days)]``; month ``k`` ends ``k`` months before
        ``date_to``."""
        windows = []
        for k in range(months):
            last = date_to - relativedelta(months=k)
            before = date_to - relativedelta(months=k + 1)
            windows.append((k, before + timedelta(days=1), last, (last - before).days))
        return windows

    # === SQL === #

    @api.model
    def _open_items_sql(self, date, company_ids, partner_ids=None):
        """SELECT of the open items on ``date`` (see the class): one row per
        receivable line still (partly) due, with ``line_id``, ``move_id``,
        ``company_id``, ``partner_id`` (the customer, commercial partner),
        ``date_due`` and ``amount`` (due on ``date``, company currency).

        Only the lines open now or reconciled after ``date`` are read: on
        today, the open lines alone."""
        domain = (
            Domain("display_type", "=", "payment_term")
            & Domain("parent_state", "=", "posted")
            & Domain("move_id.move_type", "in", RECEIVABLE_MOVE_TYPES)
            & Domain("company_id", "in", list(company_ids))
            & Domain("invoice_date", "<=", date)
            & (
                Domain("reconciled", "=", False)
                | Domain("matched_credit_ids.max_date", ">", date)
                | Domain("matched_debit_ids.max_date", ">", date)
            )
        )
        if partner_ids is not None:
            domain &= Domain("partner_id", "in", list(partner_ids))
        # The reader's record rules apply to the lines (see the class).
        lines = self.env["account.move.line"]._search(domain)
        self.env["account.move.line"].flush_model(
            [
                "balance",
                "company_id",
                "date_maturity",
                "move_id",
                "partner_id",
                "reconciled",
            ]
        )
        self.env["account.partial.reconcile"].flush_model(
            ["amount", "credit_move_id", "debit_move_id", "max_date"]
        )
        return SQL(
            """
            SELECT line.id AS line_id,
                   line.move_id,
                   line.company_id,
                   line.partner_id,
                   line.date_maturity AS date_due,
                   line.balance
                     - COALESCE((SELECT SUM(part.amount)
                                   FROM account_partial_reconcile part
                                  WHERE part.debit_move_id = line.id
                                    AND part.max_date <= %(date)s), 0)
                     + COALESCE((SELECT SUM(part.amount)
                                   FROM account_partial_reconcile part
                                  WHERE part.credit_move_id = line.id
                                    AND part.max_date <= %(date)s), 0)
                     AS amount
              FROM account_move_line line
             WHERE line.id IN %(lines)s
            """,
            date=date,
            lines=lines.subselect(),
        )

    @api.model
    def _dso_sql(
        self,
        open_items,
        date_to,
        months,
        company_ids,
        partner_ids=None,
        per_partner=True,
    ):
        """SELECT of the DSO by the countback method (see the class): one row
        per company (``per_partner=False``, ``partner_id`` 0) or per company
        and customer, with ``balance`` (B), ``sales`` (of the period) and
        ``dso`` (days, 2 decimals).

        :param SQL open_items: a relation of open items on ``date_to``, as
            ``_open_items_sql`` selects them (a CTE name or a subquery).
        :param partner_ids: the customers whose sales are read (all if None).
        """
        windows = self._dso_windows(date_to, months)
        first_day = windows[-1][1]
        domain = (
            Domain("move_type", "in", RECEIVABLE_MOVE_TYPES)
            & Domain("state", "=", "posted")
            & Domain("company_id", "in", list(company_ids))
            & Domain("invoice_date", ">=", first_day)
            & Domain("invoice_date", "<=", date_to)
        )
        if partner_ids is not None:
            domain &= Domain("commercial_partner_id", "in", list(partner_ids))
        # The reader's record rules apply to the invoices (see the class).
        sales_moves = self.env["account.move"]._search(domain)
        self.env["account.move"].flush_model(
            ["amount_total_signed", "commercial_partner_id", "company_id"]
        )
        item_partner = SQL("COALESCE(items.partner_id, 0)") if per_partner else SQL("0")
        move_partner = (
            SQL("COALESCE(move.commercial_partner_id, 0)") if per_partner else SQL("0")
        )
        values = SQL(", ").join(
            SQL("(%s, %s::date, %s::date, %s)", k, first, last, days)
            for k, first, last, days in windows
        )
        return SQL(
            """
            WITH windows (k, first_day, last_day, days) AS (VALUES %(values)s),
            balances AS (
                SELECT items.company_id, %(item_partner)s AS partner_id,
                       SUM(items.amount) AS balance
                  FROM %(open_items)s items
              GROUP BY 1, 2
            ),
            sales AS (
                SELECT move.company_id, %(move_partner)s AS partner_id, windows.k,
                       SUM(move.amount_total_signed) AS amount
                  FROM account_move move
                  JOIN windows ON move.invoice_date BETWEEN windows.first_day
                                                        AND windows.last_day
                 WHERE move.id IN %(sales_moves)s
              GROUP BY 1, 2, 3
            ),
            customers AS (
                SELECT company_id, partner_id, SUM(balance) AS balance
                  FROM (SELECT company_id, partner_id, balance FROM balances
                         UNION ALL
                        SELECT DISTINCT company_id, partner_id, 0 FROM sales) keys
              GROUP BY 1, 2
            ),
            walk AS (
                SELECT customers.company_id, customers.partner_id,
                       customers.balance, windows.k, windows.days,
                       COALESCE(sales.amount, 0) AS sales,
                       SUM(COALESCE(sales.amount, 0)) OVER counted AS counted,
                       COALESCE(SUM(COALESCE(sales.amount, 0)) OVER before, 0)
                           AS counted_before
                  FROM customers
            CROSS JOIN windows
             LEFT JOIN sales ON sales.company_id = customers.company_id
                            AND sales.partner_id = customers.partner_id
                            AND sales.k = windows.k
                WINDOW counted AS (PARTITION BY customers.company_id,
                                                customers.partner_id
                                       ORDER BY windows.k),
                       before AS (PARTITION BY customers.company_id,
                                               customers.partner_id
                                      ORDER BY windows.k
                                      ROWS BETWEEN UNBOUNDED PRECEDING
                                               AND 1 PRECEDING)
            ),
            stops AS (
                -- The first month the balance left does not cover, or
                -- nothing is left of it.
                SELECT company_id, partner_id, MIN(k) AS k
                  FROM walk
                 WHERE balance < counted OR balance <= counted_before
              GROUP BY 1, 2
            )
            SELECT walk.company_id, walk.partner_id,
                   MAX(walk.balance) AS balance,
                   SUM(walk.sales) AS sales,
                   CASE WHEN MAX(walk.balance) <= 0 THEN 0
                        ELSE ROUND(SUM(
                            CASE WHEN stops.k IS NULL OR walk.k < stops.k
                                     THEN walk.days
                                 WHEN walk.k = stops.k
                                      AND walk.balance > walk.counted_before
                                     THEN walk.days
                                          * (walk.balance - walk.counted_before)
                                          / walk.sales
                                 ELSE 0
                            END)::numeric, 2)
                   END AS dso
              FROM walk
         LEFT JOIN stops ON stops.company_id = walk.company_id
                        AND stops.partner_id = walk.partner_id
          GROUP BY walk.company_id, walk.partner_id
            """,
            values=values,
            item_partner=item_partner,
            move_partner=move_partner,
            open_items=open_items,
            sales_moves=sales_moves.subselect(),
        )

    # === FIGURES === #

    @api.model
    def _dso(self, companies, partners=None, date_to=None, months=None):
        """DSO of ``companies`` (``partners`` None) or of each of
        ``partners`` (commercial partners) in them, on the period of
        the context unless given: ``{(company id, partner id or 0):
        {"balance", "sales", "dso"}}``. In one query."""
        default_date, default_months = self._dso_period()
        date_to = date_to or default_date
        months = self._dso_check_months(months or default_months)
        if not companies:
            return {}
        partner_ids = None
        if partners is not None:
            partner_ids = partners.commercial_partner_id.ids
            if not partner_ids:
                return {}
        open_items = self._open_items_sql(date_to, companies.ids, partner_ids)
        query = self._dso_sql(
            SQL("open_items"),
            date_to,
            months,
            companies.ids,
            partner_ids=partner_ids,
            per_partner=partners is not None,
        )
        # Raw SQL, safe: built of SQL objects with bound parameters, over
        # the ORM's searches with the reader's record rules; read only.
        rows = self.env.execute_query(
            SQL(
                "WITH open_items AS (%s) "
                "SELECT company_id, partner_id, balance, sales, dso FROM (%s) dso",
                open_items,
                query,
            )
        )
        return {
            (company_id, partner_id): {
                "balance": float(balance or 0.0),
                "sales": float(sales or 0.0),
                "dso": float(dso or 0.0),
            }
            for company_id, partner_id, balance, sales, dso in rows
        }
