from odoo import fields, models


class KpulseDunningLine(models.Model):
    """Dispute an invoice from the reminder that claims it."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning.line"  # pylint: disable=consider-merging-classes-inherited

    # Read with the reader's rights, as the line's other invoice fields.
    dispute_id = fields.Many2one(
        related="move_id.kpulse_dispute_id", string="Dispute", compute_sudo=False
    )

    def action_kpulse_dispute(self):
        return self.move_id.action_kpulse_dispute()
