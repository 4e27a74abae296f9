from odoo import api, fields, models


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

    kpulse_is_professional = fields.Boolean(
        string="Professional customer",
        compute="_compute_kpulse_is_professional",
        store=True,
        readonly=False,
        help="Late-payment penalties and the fixed indemnity apply to "
        "professional customers only. Set for companies; set it by hand on "
        "an individual who is a sole trader. Set on the company: its "
        "contacts follow it.",
    )
    kpulse_penalty_category = fields.Selection(
        [
            ("company", "Company setting"),
            ("public", "Public buyer (reference rate + 8 points)"),
        ],
        string="Penalty rate category",
        default="company",
        required=True,
        help="Public buyers (State, local authorities, public institutions) "
        "owe interest at the ECB reference rate plus 8 points, whatever the "
        "company's margin or contractual rate.",
    )

    @api.depends("is_company")
    def _compute_kpulse_is_professional(self):
        for partner in self:
            partner.kpulse_is_professional = partner.is_company

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
