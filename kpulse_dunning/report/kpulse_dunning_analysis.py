from odoo import api, fields, models
from odoo.tools import SQL

# Days after sending within which a reminder counts as paid.
PAID_WITHIN_DAYS = (15, 30)


class KpulseDunningAnalysis(models.Model):
    """Reminders analysis: count and amounts of the reminders by level,
    state, month, responsible and channel, and which levels get paid. A
    read-only report over SQL (``_table_query``), one row per reminder.

    *Paid within N days* (N = 15, 30), for a sent reminder whose N days are
    over (sending day + N before the report date: today, or the context's
    ``kpulse_analysis_date``): 100 when all its invoices are paid
    (``payment_state`` paid or in payment) and the last reconciliation of
    their receivable lines (``account.partial.reconcile``'s ``max_date``) is
    on or before the sending day + N days, else 0. Empty for reminders whose
    N days are not over yet (paid or not: counting only the early payers
    would flatter recent levels), not sent, and late-payment claims. Its
    average over a group of reminders is the share of them paid within N
    days, in %.

    The rows are read through the ORM's search of the reminders, with the
    reader's record rules; the report's own rules repeat them
    (security/kpulse_dunning_security.xml).
    """

    _name = "kpulse.dunning.analysis"
    _description = "Reminders Analysis"
    _auto = False
    _rec_name = "dunning_id"
    _order = "date desc, id desc"

    dunning_id = fields.Many2one("kpulse.dunning", string="Reminder", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(
        "res.currency", string="Company Currency", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Responsible", readonly=True)
    level_id = fields.Many2one("kpulse.dunning.level", string="Level", readonly=True)
    state = fields.Selection(
        [
            ("draft", "To Send"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("paid", "Paid"),
            ("cancel", "Cancelled"),
        ],
        string="Status",
        readonly=True,
    )
    claim_type = fields.Selection(
        [("reminder", "Reminder"), ("late_payment", "Late-payment claim")],
        string="Kind",
        readonly=True,
    )
    channel = fields.Selection(
        [
            ("email", "E-mail"),
            ("post", "Post"),
            ("email_post", "E-mail and post"),
            ("none", "None"),
        ],
        readonly=True,
        help="How the reminder's level sends it (its actions).",
    )
    date = fields.Date(readonly=True)
    sent_date = fields.Date(string="Sent On", readonly=True)
    paid_date = fields.Date(
        string="Paid On",
        readonly=True,
        help="Last reconciliation date of the reminder's invoices, once all paid.",
    )
    invoice_user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        help="The salesperson of the reminder's invoices, when they have one.",
    )
    mixed_salespersons = fields.Boolean(
        string="Several Salespersons",
        readonly=True,
        help="The reminder's invoices belong to several salespersons.",
    )
    reminder_count = fields.Integer(string="Reminders", readonly=True)
    invoice_count = fields.Integer(string="Invoices", readonly=True)
    amount_reminded = fields.Monetary(
        readonly=True,
        help="What the reminder asked: the amounts due on its invoices when "
        "it was created (updated when sent), in the company's currency.",
    )
    days_to_pay = fields.Float(
        string="Days to Payment",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Days from the sending to the payment of all the invoices.",
    )
    paid_15 = fields.Float(
        string="Paid within 15 days (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Share of the sent reminders whose invoices were all paid "
        "within 15 days after sending, among those sent more than 15 days ago.",
    )
    paid_30 = fields.Float(
        string="Paid within 30 days (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Share of the sent reminders whose invoices were all paid "
        "within 30 days after sending, among those sent more than 30 days ago.",
    )

    _depends = {
        "kpulse.dunning": [
            "claim_type",
            "company_id",
            "date",
            "level_id",
            "partner_id",
            "sent_date",
            "state",
            "user_id",
        ],
        "kpulse.dunning.line": ["amount_residual", "dunning_id", "move_id"],
        "kpulse.dunning.level": ["action_email", "action_letter"],
        "account.move": ["invoice_currency_rate", "invoice_user_id", "payment_state"],
        "account.move.line": ["display_type", "move_id"],
        "account.partial.reconcile": ["credit_move_id", "debit_move_id", "max_date"],
        "res.company": ["currency_id"],
    }

    @api.model
    def _analysis_date(self):
        """Today (user's time zone), or the context's ``kpulse_analysis_date``."""
        date = self.env.context.get("kpulse_analysis_date")
        return fields.Date.to_date(date) if date else fields.Date.context_today(self)

    @api.model
    def _paid_within_sql(self, days, today):
        return SQL(
            """CASE WHEN dunning.sent_date IS NULL
                      OR dunning.claim_type != 'reminder'
                      OR %(today)s::date <= dunning.sent_date::date + %(days)s
                        THEN NULL
                    WHEN stats.all_paid
                     AND paid.paid_date <= dunning.sent_date::date + %(days)s
                        THEN 100
                    ELSE 0
               END""",
            days=days,
            today=today,
        )

    @property
    def _table_query(self):
        today = self._analysis_date()
        # The reader's record rules apply to the reminders (see the class).
        dunnings = self.env["kpulse.dunning"]._search([])
        return SQL(
            """
            WITH stats AS (
                SELECT line.dunning_id,
                       COUNT(*) AS invoice_count,
                       SUM(line.amount_residual
                           / COALESCE(NULLIF(move.invoice_currency_rate, 0), 1))
                           AS amount,
                       MAX(move.invoice_user_id) AS invoice_user_id,
                       COUNT(DISTINCT move.invoice_user_id) > 1
                           AS mixed_salespersons,
                       BOOL_AND(move.payment_state IN ('paid', 'in_payment'))
                           AS all_paid
                  FROM kpulse_dunning_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE line.dunning_id IN %(dunnings)s
              GROUP BY line.dunning_id
            ),
            reconciled AS (
                SELECT line.dunning_id, part.max_date
                  FROM kpulse_dunning_line line
                  JOIN account_move_line aml ON aml.move_id = line.move_id
                                            AND aml.display_type = 'payment_term'
                  JOIN account_partial_reconcile part ON part.debit_move_id = aml.id
                 WHERE line.dunning_id IN (SELECT dunning_id FROM stats
                                            WHERE all_paid)
                 UNION ALL
                SELECT line.dunning_id, part.max_date
                  FROM kpulse_dunning_line line
                  JOIN account_move_line aml ON aml.move_id = line.move_id
                                            AND aml.display_type = 'payment_term'
                  JOIN account_partial_reconcile part ON part.credit_move_id = aml.id
                 WHERE line.dunning_id IN (SELECT dunning_id FROM stats
                                            WHERE all_paid)
            ),
            paid AS (
                SELECT dunning_id, MAX(max_date) AS paid_date
                  FROM reconciled
              GROUP BY dunning_id
            )
            SELECT dunning.id,
                   dunning.id AS dunning_id,
                   dunning.partner_id,
                   dunning.company_id,
                   company.currency_id,
                   dunning.user_id,
                   dunning.level_id,
                   dunning.state,
                   dunning.claim_type,
                   CASE WHEN level.action_email AND level.action_letter
                            THEN 'email_post'
                        WHEN level.action_email THEN 'email'
                        WHEN level.action_letter THEN 'post'
                        ELSE 'none'
                   END AS channel,
                   dunning.date,
                   dunning.sent_date::date AS sent_date,
                   paid.paid_date,
                   stats.invoice_user_id,
                   COALESCE(stats.mixed_salespersons, FALSE) AS mixed_salespersons,
                   1 AS reminder_count,
                   COALESCE(stats.invoice_count, 0) AS invoice_count,
                   COALESCE(stats.amount, 0) AS amount_reminded,
                   CASE WHEN dunning.sent_date IS NOT NULL
                         AND paid.paid_date IS NOT NULL
                        THEN paid.paid_date - dunning.sent_date::date
                   END AS days_to_pay,
                   %(paid_15)s AS paid_15,
                   %(paid_30)s AS paid_30
              FROM kpulse_dunning dunning
              JOIN res_company company ON company.id = dunning.company_id
              JOIN kpulse_dunning_level level ON level.id = dunning.level_id
         LEFT JOIN stats ON stats.dunning_id = dunning.id
         LEFT JOIN paid ON paid.dunning_id = dunning.id
             WHERE dunning.id IN %(dunnings)s
            """,
            dunnings=dunnings.subselect(),
            paid_15=self._paid_within_sql(PAID_WITHIN_DAYS[0], today),
            paid_30=self._paid_within_sql(PAID_WITHIN_DAYS[1], today),
        )
