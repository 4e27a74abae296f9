from markupsafe import Markup

from odoo import models
from odoo.fields import Domain

from .kpulse_dunning import SENDABLE_STATES


class KpulseDunning(models.Model):
    """Invoices under dispute are not claimed: they leave the reminders not
    sent yet when the dispute is recorded (or when a cancelled reminder is
    reset), and an escalation does not carry them to the next level."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    # === ACTIONS === #

    def action_reset_draft(self):
        result = super().action_reset_draft()
        self.filtered(lambda d: d.state == "draft")._kpulse_drop_disputed_lines()
        return result

    # === BUSINESS METHODS === #

    def _kpulse_drop_disputed_lines(self, moves=None):
        """Take the invoices under dispute out of the reminders not sent yet
        (these reminders, or on an empty recordset all those of ``moves``); a
        reminder left without invoice is cancelled. Each reminder's chatter
        says why."""
        if not self and moves is None:
            return
        domain = (
            Domain("move_id.kpulse_dispute_id", "!=", False)
            & Domain("dunning_id.state", "in", SENDABLE_STATES)
            & Domain("dunning_id.claim_type", "=", "reminder")
        )
        if self:
            domain &= Domain("dunning_id", "in", self.ids)
        if moves is not None:
            domain &= Domain("move_id", "in", moves.ids)
        lines = self.env["kpulse.dunning.line"].search(domain)
        if not lines:
            return
        dunnings = lines.dunning_id
        # Markup's % escapes every value: invoice names cannot inject HTML.
        bodies = {
            dunning.id: Markup("%s %s")
            % (
                self.env._("Left out of this reminder, under dispute:"),
                ", ".join(dunning_lines.move_id.mapped("name")),
            )
            for dunning, dunning_lines in lines.grouped("dunning_id").items()
        }
        lines.unlink()
        emptied = dunnings.filtered(lambda d: not d.line_ids)
        emptied.action_cancel()
        for dunning in emptied:
            bodies[dunning.id] += Markup("<br/>%s") % self.env._(
                "The reminder is cancelled: all its invoices are under dispute."
            )
        dunnings._message_log_batch(bodies=bodies)

    def _prepare_vals(self, moves, template, level=None, penalties=None, **kwargs):
        # An escalation does not claim again the invoices disputed since the
        # previous level (reminders all of whose invoices are disputed are
        # refused by _escalate). The wizard and the automatic runs only take
        # eligible invoices, none of them disputed.
        if kwargs.get("claim_type", "reminder") == "reminder":
            disputed = moves.filtered("kpulse_dispute_id")
            if disputed and disputed != moves:
                moves -= disputed
        return super()._prepare_vals(
            moves, template, level=level, penalties=penalties, **kwargs
        )

    def _escalate(self):
        refused = self._kpulse_fully_disputed()
        if not refused:
            return super()._escalate()
        reason = self.env._("its invoices still due are under dispute")
        rest = self - refused
        if rest:
            escalated, refusals = super(KpulseDunning, rest)._escalate()
        else:
            self.check_access("write")
            escalated, refusals = self.browse(), {}
        refusals.update(dict.fromkeys(refused, reason))
        return escalated, {d: refusals[d] for d in self if d in refusals}

    def _kpulse_fully_disputed(self):
        """Those of these reminders (not cancelled nor paid) whose invoices
        still due are all under dispute: one grouped query finds the few
        reminders with a disputed invoice, the rest is read for those only."""
        disputed_ids = {
            dunning.id: set(move_ids)
            for dunning, move_ids in self.env["kpulse.dunning.line"]._read_group(
                [
                    ("dunning_id", "in", self.ids),
                    ("move_id.kpulse_dispute_id", "!=", False),
                    ("dunning_id.claim_type", "=", "reminder"),
                    ("dunning_id.state", "not in", ("cancel", "paid")),
                ],
                ["dunning_id"],
                ["move_id:array_agg"],
            )
        }
        if not disputed_ids:
            return self.browse()
        candidates = self.browse(disputed_ids)
        move_ids_by_reminder = candidates._move_ids_by_reminder()
        settled_ids = (
            self.env["account.move"]
            .browse({id_ for ids in move_ids_by_reminder.values() for id_ in ids})
            ._kpulse_settled_ids()
        )
        return self.browse(
            id_
            for id_, move_ids in move_ids_by_reminder.items()
            if (due := set(move_ids) - settled_ids) and due <= disputed_ids[id_]
        )
