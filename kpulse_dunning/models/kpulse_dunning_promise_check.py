from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools import format_amount, format_date, split_every

# Promises the daily check settles, then commits, at once.
CHECK_BATCH_SIZE = 500


class KpulseDunningPromise(models.Model):
    """Whether a promise is kept or broken: the daily check, the payments it
    looks at, and what a broken promise tells the responsible."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning.promise"  # pylint: disable=consider-merging-classes-inherited

    def _is_paid(self, settled_ids):
        """Whether the customer paid the promised amount since the promise,
        or nothing is left due on its invoices (``settled_ids``: see
        ``account.move._kpulse_settled_ids``)."""
        self.ensure_one()
        return self.currency_id.compare_amounts(
            self.amount_paid, self.amount
        ) >= 0 or settled_ids.issuperset(self.move_ids.ids)

    def _check_promises(self):
        """Settle these running promises: kept once the promised amount is
        paid, broken once their date has passed unpaid. Returns ``(kept,
        broken)``."""
        running = self.filtered(lambda p: p.state == "running")
        if not running:
            return self.browse(), self.browse()
        today = fields.Date.context_today(self)
        settled_ids = running.move_ids._kpulse_settled_ids()
        kept = running.filtered(lambda p: p._is_paid(settled_ids))
        broken = (running - kept).filtered(lambda p: p.date < today)
        kept.state = "kept"
        broken.state = "broken"
        broken._notify_broken()
        return kept, broken

    def _keep_paid(self):
        """Those of these running promises that are paid become kept (a
        payment has just been reconciled)."""
        running = self.filtered(lambda p: p.state == "running")
        if not running:
            return
        settled_ids = running.move_ids._kpulse_settled_ids()
        running.filtered(lambda p: p._is_paid(settled_ids)).state = "kept"

    @api.model
    def _cron_check_promises(self):
        """The daily check: running promises that are paid become kept, those
        whose date has passed unpaid become broken."""
        # sudo: a system job for every company's promises; it only settles
        # them by their own rule and tells their responsible.
        promises = self.sudo().search([("state", "=", "running")], order="id")
        IrCron = self.env["ir.cron"]
        remaining = len(promises)
        for ids in split_every(CHECK_BATCH_SIZE, promises.ids):
            self.sudo().browse(ids)._check_promises()
            remaining -= len(ids)
            IrCron._commit_progress(len(ids), remaining=remaining)

    def _notify_broken(self):
        """Tell the responsible: an activity each, a note on the promise and
        where it was recorded from."""
        bodies = {
            promise: Markup("<p>%s</p>")
            % self.env._(
                "Promise to pay %(amount)s by %(date)s broken: %(paid)s paid "
                "since. Automatic reminders resume at the next level.",
                amount=format_amount(self.env, promise.amount, promise.currency_id),
                date=format_date(self.env, promise.date),
                paid=format_amount(self.env, promise.amount_paid, promise.currency_id),
            )
            for promise in self
        }
        self._message_log_batch({promise.id: body for promise, body in bodies.items()})
        self._log_on_origin(bodies)
        summary = self.env._("Broken promise to pay")
        for user, promises in self.grouped(lambda p: p.user_id or p.create_uid).items():
            promises.activity_schedule(
                "mail.mail_activity_data_todo", summary=summary, user_id=user.id
            )
