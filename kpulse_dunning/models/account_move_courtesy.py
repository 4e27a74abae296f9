from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import format_date


class AccountMove(models.Model):
    """The courtesy window: a level with a negative delay (-5) reminds of an
    invoice from that many days before its due date until the due date, once,
    if it was never reminded. It is never late: no days late, no penalties,
    and from the day after the due date the ordinary levels take over."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS === #

    @api.model
    def _kpulse_days_past_due(self, due, today):
        """Days between ``due`` and ``today``: negative before the due date,
        0 on it (unlike the days late, which stay 0 before it)."""
        return (today - due).days if due else 0

    @api.model
    def _kpulse_due_domain(self):
        """Invoices due for a reminder: late, or in the courtesy window of
        their company's courtesy level (one query, part of the eligibility
        domain)."""
        today = fields.Date.context_today(self)
        return Domain("invoice_date_due", "<", today) | Domain.OR(
            (
                Domain("company_id", "=", level.company_id.id)
                if level.company_id
                else Domain.TRUE
            )
            & Domain("invoice_date_due", ">=", today)
            & Domain("invoice_date_due", "<=", today - timedelta(days=level.delay_days))
            & Domain("kpulse_dunning_level_id", "=", False)
            for level in self._kpulse_courtesy_levels()
        )

    @api.model
    def _kpulse_courtesy_levels(self):
        """The active courtesy levels (at most one per company, a shared one
        for all of them: see the level's constraint)."""
        return self.env["kpulse.dunning.level"].search([("is_courtesy", "=", True)])

    def _kpulse_not_due_reason(self):
        """Why this invoice is not due for a reminder, or False: not late,
        and out of its company's courtesy window or already reminded in it."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        due = self.invoice_date_due
        if due and due < today:
            return False
        courtesy = self._kpulse_courtesy_levels().filtered(
            lambda level: level.company_id
            in (self.company_id, self.company_id.browse())
        )[:1]
        if not due or not courtesy:
            return self.env._("not yet due")
        start = due + timedelta(days=courtesy.delay_days)
        if today < start:
            return self.env._(
                "not yet due (courtesy reminder from %(date)s)",
                date=format_date(self.env, start),
            )
        if self.kpulse_dunning_level_id:
            return self.env._("not yet due, and already reminded")
        return False

    @api.model
    def _kpulse_next_level(self, chain, current, days_overdue):
        """Before the due date (``days_overdue`` 0 or negative, see
        ``_kpulse_days_past_due``), only the courtesy level, in its window and
        if nothing was sent yet; after it, the ordinary levels, as if the
        courtesy reminder had not been sent."""
        courtesy = next((step for step in chain if step[1] < 0), None)
        if days_overdue <= 0:
            if courtesy and not current and days_overdue >= courtesy[1]:
                return courtesy[2]
            return None
        if courtesy and current == courtesy[0]:
            current = None
        return super()._kpulse_next_level(
            [step for step in chain if step[1] >= 0], current, days_overdue
        )
