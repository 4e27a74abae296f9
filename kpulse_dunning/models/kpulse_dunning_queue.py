from odoo import models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .kpulse_dunning import SENDABLE_STATES
from .kpulse_dunning_batch import array_literal


class KpulseDunning(models.Model):
    """The reminder's side of the background queue: a big Send or Print is
    handed to the engine (``kpulse.dunning.send``) and each reminder is
    linked to the run that will process it."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    def _queue_action(self, action):
        """Hand a big Send or Print to the background engine; return at once."""
        self._lock_for_action()
        # Only what queuing reads: the first read of any field would fetch
        # every field of the 10,000 reminders a big click queues.
        self.fetch(["run_id", "state"])
        to_queue = self.filtered(lambda d: not d.run_id)
        if action == "send":
            to_queue = to_queue.filtered(lambda d: d.state in SENDABLE_STATES)
        if not to_queue:
            raise UserError(
                self.env._(
                    "None of these reminders can be queued: they are already "
                    "queued, or not to send."
                )
            )
        run = self.env["kpulse.dunning.send"]._queue(to_queue, action)
        message = self.env._(
            "%(count)s reminder(s) queued: %(run)s. You will be notified when "
            "they are done.",
            count=len(to_queue),
            run=run.name,
        )
        if len(to_queue) < len(self):
            message += "\n" + self.env._(
                "%(count)s reminder(s) left out: already queued or not to send.",
                count=len(self) - len(to_queue),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": message,
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _kpulse_set_run(self, run):
        """Link these reminders to the background ``run`` that will process
        them, in one query: the click that queues 10,000 reminders spent
        most of its time in the ORM's write (100 queries, one write date per
        record computed in Python)."""
        if not self:
            return
        self.flush_recordset(["run_id"])
        # Raw SQL, safe: one column of the engine's bookkeeping, a user who
        # may only read reminders may still print them in the background (as
        # sudo() would allow); the caller checked the user's access to these
        # reminders and locked them (_lock_for_action). No stored field
        # depends on run_id; the cache is invalidated below. Not tracked, as
        # before: the queue link is no business change.
        self.env.cr.execute(
            SQL(
                """
                UPDATE kpulse_dunning
                   SET run_id = %(run)s, write_uid = %(uid)s, write_date = %(now)s
                 WHERE id = ANY(%(ids)s::int4[])
                """,
                run=run.id or None,
                uid=self.env.uid,
                now=self.env.cr.now(),
                ids=array_literal(self.ids),
            )
        )
        self.invalidate_recordset(["run_id", "write_uid", "write_date"])
        run.invalidate_recordset()
        self.modified(["run_id"])

    def _kpulse_prepare_signup(self):
        """Prepare now, once, the portal sign-up of the customers these
        reminders will e-mail, so that the engine's workers, which may
        e-mail one customer at the same time, find it done and do not write
        on the customer (see res_partner_signup.py)."""
        if self.env["res.users"]._get_signup_invitation_scope() != "b2c":
            return  # the portal prepares no sign-up
        # sudo: as the portal does when it notifies a customer (sign-up
        # fields are for ERP managers); only customers these reminders will
        # e-mail, who have no user yet.
        partners = self.partner_invoice_id.sudo().filtered(
            lambda partner: not partner.user_ids and partner.signup_type != "signup"
        )
        if partners:
            partners.signup_prepare()
