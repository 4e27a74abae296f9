from odoo import api, fields, models
from odoo.exceptions import UserError


class KpulseDunning(models.Model):
    """Escalation: which reminders may go up a level, grouped by level,
    company, responsible and state; why the others may not; and the
    next-level reminder created in one batch."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    # === ACTIONS === #

    def action_escalate(self):
        escalated, refusals = self._escalate()
        if not refusals:
            return self._open_dunnings(escalated)
        message = self._refusals_message(
            self.env._(
                "%(count)s reminder(s) escalated. Not escalated:",
                count=len(escalated),
            ),
            refusals,
        )
        if not escalated:
            raise UserError(message)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": message,
                "type": "warning",
                "sticky": True,
                "next": self._open_dunnings(escalated),
            },
        }

    # === BUSINESS METHODS === #

    def _action_escalate(self):
        """Create the next-level reminder of each reminder; return them.

        Raise when none of them can be escalated, naming them and why.
        """
        escalated, refusals = self._escalate()
        if refusals and not escalated:
            raise UserError(
                self._refusals_message(
                    self.env._("These reminders cannot be escalated:"), refusals
                )
            )
        return escalated

    def _escalate(self):
        """Escalate what can be; return the new reminders and the refusals."""
        self.check_access("write")
        if not self:
            raise UserError(self.env._("Select at least one reminder to escalate."))
        self._lock_for_action()
        refusal_of, groups = self._escalation_groups()
        candidates = self.browse(id_ for *_key, ids in groups for id_ in ids)
        move_ids_by_reminder = candidates._move_ids_by_reminder()
        settled, settled_ids = candidates._split_settled(move_ids_by_reminder)
        settled.filtered(lambda d: d.state in ("draft", "failed")).state = "paid"
        refusal_of.update(
            dict.fromkeys(settled.ids, self.env._("its invoices are paid"))
        )
        refusals = {d: refusal_of[d.id] for d in self if d.id in refusal_of}
        # Each reminder follows the levels and templates of its own company,
        # looked up once per group; the new reminders keep the order of the
        # selection.
        templates = {
            (next_level, company): next_level._get_default_template(company)
            for next_level, company, *_rest in groups
        }
        position = {id_: index for index, id_ in enumerate(self.ids)}
        escalating = sorted(
            (
                (id_, next_level, templates[next_level, company], user)
                for next_level, company, user, _state, ids in groups
                for id_ in ids
                if id_ not in refusal_of
            ),
            key=lambda item: position[item[0]],
        )
        if not escalating:
            return self.browse(), refusals
        # The invoices still due of each reminder, in the order of their ids.
        Move = self.env["account.move"]
        still_due = {
            id_: Move.browse(
                sorted(set(move_ids_by_reminder.get(id_, ())) - settled_ids)
            )
            for id_, *_values in escalating
        }
        due_moves = Move.union(*still_due.values())
        due_moves.commercial_partner_id.child_ids.mapped("email")  # one query
        today = fields.Date.context_today(self)
        penalties = due_moves._kpulse_penalty_values(today)
        vals_list = [
            dict(
                self._prepare_vals(
                    still_due[id_],
                    template,
                    level=next_level,
                    penalties=penalties,
                    user=user,
                    date=today,
                ),
                previous_id=id_,
            )
            for id_, next_level, template, user in escalating
        ]
        self.browse(
            id_
            for _level, _company, _user, state, ids in groups
            if state in ("draft", "failed")
            for id_ in ids
            if id_ not in refusal_of
        ).state = "cancel"
        return self._create_batch(vals_list), refusals

    def _escalation_groups(self):
        """What escalating these reminders asks, decided once per group of
        reminders sharing a level, a company, a responsible and a state: two
        grouped reads (the reminders, their successors) instead of seven
        fields of each reminder.

        :return: ``(refusals, groups)``: {reminder id: why it cannot be
            escalated}, and [(next level, company, responsible, state,
            [reminder ids])] of the others.
        """
        # sudo: it only groups the reminders whose write access the caller
        # checked; a read rule must not leave one out. The records grouped
        # on are used as the user below.
        rows = self.sudo()._read_group(
            [("id", "in", self.ids)],
            ["level_id", "company_id", "user_id", "state", "claim_type"],
            ["id:array_agg"],
        )
        # sudo too: it only tells which of these reminders already have a
        # successor not cancelled; a rule hiding that successor from the user
        # must not let him escalate a reminder a second time.
        successor_of = {
            previous.id: successor_id
            for previous, successor_id in self.sudo()._read_group(
                [("previous_id", "in", self.ids), ("state", "!=", "cancel")],
                ["previous_id"],
                ["id:max"],
            )
        }
        next_levels = {}
        refusals = {}
        groups = []
        for level, company, user, state, claim_type, ids in rows:
            level, company = level.with_env(self.env), company.with_env(self.env)
            if (level, company) not in next_levels:
                next_levels[level, company] = level._get_next_level(company)
            next_level = next_levels[level, company]
            escalating = []
            reason = self._escalation_refusal(
                state, claim_type, self.browse(), next_level
            )
            for id_ in ids:
                if id_ in successor_of:
                    refusals[id_] = self._escalation_refusal(
                        state, claim_type, self.browse(successor_of[id_]), next_level
                    )
                elif reason:
                    refusals[id_] = reason
                else:
                    escalating.append(id_)
            if escalating:
                groups.append(
                    (next_level, company, user.with_env(self.env), state, escalating)
                )
        return refusals, groups

    @api.model
    def _escalation_refusal(self, state, claim_type, successor, next_level):
        """Why a reminder cannot be escalated, or None."""
        if state == "cancel":
            return self.env._("cancelled")
        if claim_type == "late_payment":
            return self.env._(
                "a late-payment claim is not escalated: its invoices are "
                "paid; send it again or invoice its charges"
            )
        if state == "paid":
            return self.env._("its invoices are paid")
        if successor:
            return self.env._(
                "already escalated to %(reminder)s", reminder=successor.name
            )
        if not next_level:
            return self.env._("already at the highest level")
        return None
