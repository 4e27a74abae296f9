from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    kpulse_dunning_count = fields.Integer(
        string="Reminders", compute="_compute_kpulse_dunning_count"
    )
    kpulse_manual_followup = fields.Boolean(
        string="Manual reminders only",
        help="The automatic run never reminds this customer; its reminders "
        "are created by hand. Set on the company: its contacts follow it.",
    )
    kpulse_penalty_excluded = fields.Boolean(
        string="No late-payment penalties",
        help="No late-payment penalty nor fixed recovery indemnity for this "
        "customer, e.g. during insolvency proceedings (safeguard, "
        "receivership, liquidation). Set on the company: its contacts follow it.",
    )

    def _compute_kpulse_dunning_count(self):
        commercial = self.commercial_partner_id
        counts = dict(
            self.env["kpulse.dunning"]._read_group(
                [("partner_id", "in", commercial.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.kpulse_dunning_count = counts.get(partner.commercial_partner_id, 0)

    def action_kpulse_open_dunnings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action
