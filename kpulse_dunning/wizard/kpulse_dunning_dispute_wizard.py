from odoo import api, fields, models
from odoo.exceptions import UserError


class KpulseDunningDisputeWizard(models.TransientModel):
    """The small dialog of the Dispute and Resolve buttons: a reason and a
    note to record a dispute, a note to resolve one."""

    _name = "kpulse.dunning.dispute.wizard"
    _description = "Dispute or Resolve Invoices"

    mode = fields.Selection(
        [("dispute", "Dispute"), ("resolve", "Resolve")],
        default="dispute",
        required=True,
    )
    move_ids = fields.Many2many("account.move", string="Invoices")
    dispute_ids = fields.Many2many("kpulse.dunning.dispute", string="Disputes")
    reason_id = fields.Many2one("kpulse.dunning.dispute.reason", string="Reason")
    note = fields.Text(help="What the customer says, in a few words.")
    resolution_note = fields.Text(
        help="How the dispute was settled (credit note, delivery, explanation)."
    )

    @api.model
    def _open_dialog(self, name, context):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": context,
        }

    def action_confirm(self):
        self.ensure_one()
        if self.mode == "resolve":
            self.dispute_ids._resolve(self.resolution_note)
            return {"type": "ir.actions.act_window_close"}
        if not self.reason_id:
            raise UserError(self.env._("Choose the reason of the dispute."))
        self.env["kpulse.dunning.dispute"].create(
            [
                {
                    "move_id": move.id,
                    "reason_id": self.reason_id.id,
                    "note": self.note,
                }
                for move in self.move_ids
            ]
        )
        return {"type": "ir.actions.act_window_close"}
