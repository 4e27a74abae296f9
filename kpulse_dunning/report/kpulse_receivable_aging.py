from odoo import api, fields, models
from odoo.tools import SQL

from .kpulse_customer_statement import AGING_BUCKETS, aging_bucket_sql

# The buckets' labels, as the customer statement prints them.
AGING_BUCKET_SELECTION = [
    ("not_due", "Not due"),
    ("1_30", "1–30 days"),
    ("31_60", "31–60 days"),
    ("61_90", "61–90 days"),
    ("over_90", "Over 90 days"),
]
assert [key for key, _label in AGING_BUCKET_SELECTION] == [
    key for key, _last in AGING_BUCKETS
], "the aging report and the customer statement share their buckets"


class KpulseReceivableAging(models.Model):
    """Aging of the open customer receivables, by customer and bucket: a
    read-only report over SQL (``_table_query``), one row per open item.

    The open items are those of ``kpulse.dunning.dso`` on the report date
    (the context's ``kpulse_aging_date``, else today), i.e. the items of the
    customer statement: what is still due on each installment of the
    posted customer invoices and credit notes, in the company's currency,
    credit notes negative. Days late and buckets follow the statement's
    rule (``aging_bucket_sql``): days late = report date - due date, not
    due up to 0. The customer's DSO is computed in the same query, over the
    DSO period of the context (last 3 months by default).

    The rows are read through the ORM's search of the receivable lines,
    with the reader's record rules; the report's own rules repeat them
    (security/kpulse_dunning_security.xml).
    """

    _name = "kpulse.receivable.aging"
    _description = "Receivables Aging"
    _auto = False
    _rec_name = "move_id"
    _order = "date_due, id"

    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    move_type = fields.Selection(
        [("out_invoice", "Customer Invoice"), ("out_refund", "Customer Credit Note")],
        string="Type",
        readonly=True,
    )
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(
        "res.currency", string="Company Currency", readonly=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    country_id = fields.Many2one("res.country", string="Country", readonly=True)
    invoice_user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Follow-up Responsible",
        readonly=True,
        help="Who follows up the customer: its follow-up responsible, else "
        "its salesperson, else the company's default responsible.",
    )
    level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Reminder Level",
        readonly=True,
        help="Highest reminder level sent among the customer's open invoices.",
    )
    invoice_date = fields.Date(readonly=True)
    date_due = fields.Date(string="Due Date", readonly=True)
    days_late = fields.Integer(readonly=True, aggregator="max")
    bucket = fields.Selection(AGING_BUCKET_SELECTION, string="Age", readonly=True)
    amount = fields.Monetary(string="Amount Due", readonly=True)
    amount_not_due = fields.Monetary(string="Not Due", readonly=True)
    amount_1_30 = fields.Monetary(string="1–30", readonly=True)
    amount_31_60 = fields.Monetary(string="31–60", readonly=True)
    amount_61_90 = fields.Monetary(string="61–90", readonly=True)
    amount_over_90 = fields.Monetary(string="Over 90", readonly=True)
    amount_overdue = fields.Monetary(string="Overdue", readonly=True)
    partner_dso = fields.Float(
        string="Customer DSO (days)",
        readonly=True,
        digits=(16, 2),
        aggregator="max",
        help="Days sales outstanding of the customer by the countback "
        "method, over the DSO period (the last 3 months by default). In a "
        "group of several customers: the highest.",
    )

    _depends = {
        "account.move": [
            "commercial_partner_id",
            "invoice_date",
            "invoice_user_id",
            "kpulse_dunning_level_id",
            "move_type",
            "state",
        ],
        "account.move.line": [
            "balance",
            "company_id",
            "date_maturity",
            "display_type",
            "move_id",
            "parent_state",
            "partner_id",
            "reconciled",
        ],
        "account.partial.reconcile": [
            "amount",
            "credit_move_id",
            "debit_move_id",
            "max_date",
        ],
        "kpulse.dunning.level": ["sequence"],
        "res.company": ["currency_id", "kpulse_default_followup_user_id"],
        "res.partner": ["country_id", "kpulse_followup_user_id", "user_id"],
    }

    @api.model
    def _aging_date(self):
        """The report date: the context's ``kpulse_aging_date``, else
        today (in the user's time zone)."""
        date = self.env.context.get("kpulse_aging_date")
        return fields.Date.to_date(date) if date else fields.Date.context_today(self)

    @property
    def _table_query(self):
        Dso = self.env["kpulse.dunning.dso"]
        date = self._aging_date()
        dso_date, months = Dso._dso_period()
        company_ids = self.env.companies.ids
        days_late = SQL("GREATEST(%s::date - items.date_due, 0)", date)
        bucket = aging_bucket_sql(days_late)
        bucket_amounts = SQL(", ").join(
            SQL(
                "CASE WHEN %s = %s THEN items.amount ELSE 0 END AS %s",
                bucket,
                key,
                SQL.identifier(f"amount_{key}"),
            )
            for key, _label in AGING_BUCKET_SELECTION
        )
        # The DSO is read on the report date unless a DSO period asks
        # another end date; its balance is then that of its own date.
        dso_items = (
            SQL("items")
            if dso_date == date
            else SQL("(%s)", Dso._open_items_sql(dso_date, company_ids))
        )
        return SQL(
            """
            WITH items AS (%(items)s),
            dso AS (%(dso)s)
            SELECT items.line_id AS id,
                   items.move_id,
                   move.move_type,
                   items.company_id,
                   company.currency_id,
                   items.partner_id,
                   customer.country_id,
                   move.invoice_user_id,
                   COALESCE(customer.kpulse_followup_user_id, customer.user_id,
                            company.kpulse_default_followup_user_id) AS user_id,
                   FIRST_VALUE(move.kpulse_dunning_level_id) OVER (
                       PARTITION BY items.company_id, items.partner_id
                           ORDER BY level.sequence DESC NULLS LAST,
                                    level.id DESC NULLS LAST
                   ) AS level_id,
                   move.invoice_date,
                   items.date_due,
                   %(days_late)s AS days_late,
                   %(bucket)s AS bucket,
                   items.amount,
                   %(bucket_amounts)s,
                   CASE WHEN %(days_late)s > 0 THEN items.amount ELSE 0 END
                       AS amount_overdue,
                   COALESCE(dso.dso, 0) AS partner_dso
              FROM items
              JOIN account_move move ON move.id = items.move_id
              JOIN res_company company ON company.id = items.company_id
         LEFT JOIN res_partner customer ON customer.id = items.partner_id
         LEFT JOIN kpulse_dunning_level level
                ON level.id = move.kpulse_dunning_level_id
         LEFT JOIN dso ON dso.company_id = items.company_id
                      AND dso.partner_id = COALESCE(items.partner_id, 0)
             WHERE items.amount != 0
            """,
            items=Dso._open_items_sql(date, company_ids),
            dso=Dso._dso_sql(dso_items, dso_date, months, company_ids),
            days_late=days_late,
            bucket=bucket,
            bucket_amounts=bucket_amounts,
        )

    @api.model
    def _read_group_orderby(self, order, groupby_terms, query):
        """Ages in their order, not due first and over 90 days last (not in
        the alphabetical order of their keys), in the pivot, the graph and
        the grouped list."""
        bucket = groupby_terms.get("bucket")
        if bucket is None:
            return super()._read_group_orderby(order, groupby_terms, query)
        whens = SQL(" ").join(
            SQL("WHEN %s THEN %s", key, index)
            for index, (key, _label) in enumerate(AGING_BUCKET_SELECTION)
        )
        # Ordered by the position of the group's age; the ORM may add terms
        # to the groups, so the dict is the caller's, restored after.
        groupby_terms["bucket"] = SQL("(CASE %s %s END)", bucket, whens)
        try:
            return super()._read_group_orderby(order, groupby_terms, query)
        finally:
            groupby_terms["bucket"] = bucket

    # === ACTIONS === #

    @api.model
    def _action_open_aging(self, partner=None, company=None):
        """The aging action, on one customer or company if given, keeping
        the DSO period of the context."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_receivable_aging_action"
        )
        domain = []
        if partner:
            domain.append(("partner_id", "=", partner.id))
            action["name"] = self.env._(
                "Aging of %(customer)s", customer=partner.display_name
            )
        if company:
            domain.append(("company_id", "=", company.id))
        action["domain"] = domain
        action["context"] = {
            "search_default_group_partner": not partner,
            **{
                key: value
                for key, value in self.env.context.items()
                if key in ("kpulse_dso_date", "kpulse_dso_months")
            },
        }
        return action
