from odoo import api, fields, models


class ResPartner(models.Model):
    """The customer's days sales outstanding (DSO), on its form."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    kpulse_dso = fields.Float(
        string="DSO (days)",
        compute="_compute_kpulse_dso",
        digits=(16, 2),
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
        help="Days sales outstanding of this customer in the current company, "
        "by the countback method over the last 3 months: how many days of "
        "its recent sales its open invoices represent.",
    )

    @api.depends_context("company", "kpulse_dso_date", "kpulse_dso_months")
    def _compute_kpulse_dso(self):
        company = self.env.company
        figures = self.env["kpulse.dunning.dso"]._dso(company, partners=self._origin)
        for partner in self:
            key = (company.id, partner._origin.commercial_partner_id.id)
            partner.kpulse_dso = figures.get(key, {}).get("dso", 0.0)

    def action_kpulse_open_aging(self):
        """The aging of this customer's open invoices."""
        self.ensure_one()
        return self.env["kpulse.receivable.aging"]._action_open_aging(
            self.commercial_partner_id
        )
