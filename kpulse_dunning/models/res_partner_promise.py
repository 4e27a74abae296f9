from odoo import fields, models


class ResPartner(models.Model):
    """The customer's promises to pay: record one from the customer, and see
    the running ones."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    kpulse_promise_ids = fields.One2many(
        "kpulse.dunning.promise", "partner_id", string="Promises to Pay"
    )
    kpulse_promise_count = fields.Integer(
        string="Running Promises",
        compute="_compute_kpulse_promise_count",
        help="Running promises to pay of the customer, in the companies selected.",
    )

    def _compute_kpulse_promise_count(self):
        commercial = self.commercial_partner_id
        counts = dict(
            self.env["kpulse.dunning.promise"]._read_group(
                [
                    ("partner_id", "in", commercial.ids),
                    ("company_id", "in", self.env.companies.ids),
                    ("state", "=", "running"),
                ],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.kpulse_promise_count = counts.get(partner.commercial_partner_id, 0)

    def action_kpulse_promise_to_pay(self):
        """Open the customer's running promise in the current company, or
        record a new one."""
        self.ensure_one()
        Promise = self.env["kpulse.dunning.promise"]
        company = self.env.company
        running = Promise._running_promises(self, company)
        promise = running.get((self.commercial_partner_id.id, company.id))
        if not promise:
            return Promise._action_record(self, company)
        return {
            "type": "ir.actions.act_window",
            "res_model": Promise._name,
            "res_id": promise.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
