from odoo import fields, models

NO_PENALTY = {
    "penalty_amount": 0.0,
    "indemnity_amount": 0.0,
    "penalty_rate": 0.0,
    "periods": [],
}
PENALTY_FIELDS = ("penalty_amount", "indemnity_amount", "penalty_rate")


class KpulseDunning(models.Model):
    """Courtesy reminders (a level with a negative delay): sent before the
    due date, they claim no penalty, even when sent after it or when an
    instalment is already late, and go up a level only once late."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    # === BUSINESS METHODS === #

    def _prepare_vals(self, moves, template, level=None, penalties=None, **kwargs):
        courtesy = (level or template.level_id).is_courtesy
        if courtesy and kwargs.get("claim_type", "reminder") == "reminder":
            penalties = dict.fromkeys(moves.ids, NO_PENALTY)
        return super()._prepare_vals(
            moves, template, level=level, penalties=penalties, **kwargs
        )

    def _refresh_claim(self, date=None):
        courtesy = self.filtered(
            lambda dunning: dunning.claim_type == "reminder"
            and dunning.level_id.is_courtesy
        )
        super(KpulseDunning, self - courtesy)._refresh_claim(date)
        if not courtesy:
            return
        lines = courtesy.line_ids
        lines.penalty_ids.unlink()
        lines.update(dict.fromkeys(PENALTY_FIELDS, 0.0))
        Line = self.env["kpulse.dunning.line"]
        for name in PENALTY_FIELDS:
            self.env.remove_to_compute(Line._fields[name], lines)
        courtesy.penalty_date = date or fields.Date.context_today(self)
        courtesy._write_batch_amounts()

    def _escalation_groups(self):
        refusals, groups = super()._escalation_groups()
        ids = [id_ for *_key, ids in groups for id_ in ids if id_ not in refusals]
        if not ids:
            return refusals, groups
        # sudo, as the groups above: it only tells which of these reminders,
        # whose write access the caller checked, remind of an invoice still
        # due that is not late yet.
        early = (
            self.env["kpulse.dunning.line"]
            .sudo()
            ._read_group(
                [
                    ("dunning_id", "in", ids),
                    ("dunning_id.level_id.is_courtesy", "=", True),
                    ("move_id.payment_state", "in", ("not_paid", "partial")),
                    (
                        "move_id.invoice_date_due",
                        ">=",
                        fields.Date.context_today(self),
                    ),
                ],
                ["dunning_id"],
            )
        )
        reason = self.env._(
            "a courtesy reminder goes up a level once its invoices are late, "
            "not before their due date"
        )
        refusals.update(dict.fromkeys((dunning.id for (dunning,) in early), reason))
        return refusals, groups
