from odoo import fields, models
from odoo.exceptions import UserError


class KpulseDunning(models.Model):
    """The reminder's side of promises: record one from it, and show the
    customer's promises in its company."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    promise_running_id = fields.Many2one(
        "kpulse.dunning.promise",
        string="Running Promise",
        compute="_compute_promises",
        help="The customer's running promise to pay in this company.",
    )
    promise_count = fields.Integer(string="Promises", compute="_compute_promises")

    def _compute_promises(self):
        Promise = self.env["kpulse.dunning.promise"]
        groups = Promise._read_group(
            [
                ("partner_id", "in", self.partner_id.ids),
                ("company_id", "in", self.company_id.ids),
            ],
            ["partner_id", "company_id"],
            ["__count"],
        )
        counts = {(partner.id, company.id): count for partner, company, count in groups}
        running = Promise._running_promises(self.partner_id, self.company_id)
        for dunning in self:
            key = (dunning.partner_id.id, dunning.company_id.id)
            dunning.promise_count = counts.get(key, 0)
            dunning.promise_running_id = running.get(key, Promise)

    def action_promise_to_pay(self):
        self.ensure_one()
        if self.state == "cancel" or self.claim_type != "reminder":
            raise UserError(
                self.env._(
                    "A promise to pay is recorded from a reminder that is not "
                    "cancelled, or from the customer."
                )
            )
        return self.env["kpulse.dunning.promise"]._action_record(
            self.partner_id, self.company_id, dunning=self
        )

    def action_open_promises(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_promise_action"
        )
        action["domain"] = [
            ("partner_id", "=", self.partner_id.commercial_partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        action["context"] = {"create": False}
        return action
