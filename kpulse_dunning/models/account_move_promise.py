from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, format_amount, format_date


class AccountMove(models.Model):
    """Invoices of a customer who promised to pay: automatic runs skip them
    while the promise runs, and *New reminders* says why."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    kpulse_promise_running = fields.Boolean(
        string="Promised to Pay",
        compute="_compute_kpulse_promise",
        search="_search_kpulse_promise_running",
        help="The customer has a running promise to pay in the invoice's "
        "company: automatic runs leave the invoice alone until it is kept or "
        "broken.",
    )
    kpulse_promise_reason = fields.Char(
        string="Promise",
        compute="_compute_kpulse_promise",
        help="Why automatic runs skip this invoice: the customer's running "
        "promise to pay.",
    )

    # === COMPUTE METHODS === #

    @api.depends_context("uid")
    def _compute_kpulse_promise(self):
        # One search for the whole list. sudo: whether a promise runs is the
        # customer's fact, whoever recorded it; its amount is shown only to
        # who may read the promise.
        Promise = self.env["kpulse.dunning.promise"]
        running = Promise.sudo()._running_promises(
            self.commercial_partner_id, self.company_id
        )
        readable = Promise.browse(
            promise.id for promise in running.values()
        )._filtered_access("read")
        for move in self:
            promise = running.get((move.commercial_partner_id.id, move.company_id.id))
            move.kpulse_promise_running = bool(promise)
            if not promise:
                move.kpulse_promise_reason = False
            elif promise in readable:
                move.kpulse_promise_reason = self.env._(
                    "Promised to pay %(amount)s by %(date)s",
                    amount=format_amount(self.env, promise.amount, promise.currency_id),
                    date=format_date(self.env, promise.date),
                )
            else:
                move.kpulse_promise_reason = self.env._(
                    "Promised to pay by %(date)s",
                    date=format_date(self.env, promise.date),
                )

    def _search_kpulse_promise_running(self, operator, value):
        if operator != "in":
            return NotImplemented
        # One condition of the eligibility query, no search of its own: the
        # invoice's customer has a running promise in the invoice's company.
        # Raw SQL, safe: fixed text, the columns come from the ORM, the
        # promise columns read are flushed here; it reads every company's
        # promises, as the automatic run must (record rules would let a
        # salesman's view of an invoice differ from the run's).
        self.env["kpulse.dunning.promise"].flush_model(
            ["partner_id", "company_id", "state"]
        )

        def to_sql(model, alias, query):
            return SQL(
                "EXISTS (SELECT 1 FROM kpulse_dunning_promise promise "
                "WHERE promise.partner_id = %s AND promise.company_id = %s "
                "AND promise.state = 'running')",
                model._field_to_sql(alias, "commercial_partner_id", query),
                model._field_to_sql(alias, "company_id", query),
            )

        running = Domain.custom(to_sql=to_sql)
        return running if True in value else ~running

    # === BUSINESS METHODS === #

    def _kpulse_keep_promises(self):
        """A payment was reconciled with these invoices: the running promises
        covering them that are now paid become kept."""
        # sudo: who reconciles a payment may not read promises; keeping one
        # follows from the payment, by the promise's own rule.
        promises = (
            self.env["kpulse.dunning.promise"]
            .sudo()
            .search([("state", "=", "running"), ("move_ids", "in", self.ids)])
        )
        promises._keep_paid()
