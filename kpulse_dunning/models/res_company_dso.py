from odoo import api, fields, models
from odoo.tools.misc import format_date


class ResCompany(models.Model):
    """The receivables dashboard: one card per company with its DSO and its
    open and overdue receivables."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    kpulse_dso = fields.Float(
        string="DSO (days)",
        compute="_compute_kpulse_dso",
        digits=(16, 2),
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
        help="Days sales outstanding by the countback method over the period "
        "(the last 3 months by default).",
    )
    kpulse_dso_period = fields.Char(
        string="DSO Period",
        compute="_compute_kpulse_dso",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    kpulse_dso_sales = fields.Monetary(
        string="Sales of the Period",
        compute="_compute_kpulse_dso",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    kpulse_receivable_open = fields.Monetary(
        string="Open Receivables",
        compute="_compute_kpulse_receivables",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    kpulse_receivable_overdue = fields.Monetary(
        string="Overdue",
        compute="_compute_kpulse_receivables",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    kpulse_receivable_over_90 = fields.Monetary(
        string="Over 90 Days",
        compute="_compute_kpulse_receivables",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )

    # === COMPUTE METHODS === #

    @api.depends_context("kpulse_dso_date", "kpulse_dso_months")
    def _compute_kpulse_dso(self):
        Dso = self.env["kpulse.dunning.dso"]
        date_to, months = Dso._dso_period()
        figures = Dso._dso(self._origin, date_to=date_to, months=months)
        period = self.env._(
            "%(months)s months to %(date)s",
            months=months,
            date=format_date(self.env, date_to),
        )
        for company in self:
            figure = figures.get((company._origin.id, 0), {})
            company.kpulse_dso = figure.get("dso", 0.0)
            company.kpulse_dso_sales = figure.get("sales", 0.0)
            company.kpulse_dso_period = period

    @api.depends_context("allowed_company_ids")
    def _compute_kpulse_receivables(self):
        # The aging of the companies the user works in: their totals in one
        # grouped query.
        Aging = self.env["kpulse.receivable.aging"]
        totals = {
            company: (amount, overdue, over_90)
            for company, amount, overdue, over_90 in Aging._read_group(
                [("company_id", "in", self._origin.ids)],
                ["company_id"],
                ["amount:sum", "amount_overdue:sum", "amount_over_90:sum"],
            )
        }
        for company in self:
            amount, overdue, over_90 = totals.get(company._origin, (0.0, 0.0, 0.0))
            company.kpulse_receivable_open = amount
            company.kpulse_receivable_overdue = overdue
            company.kpulse_receivable_over_90 = over_90

    # === ACTIONS === #

    @api.model
    def _kpulse_dashboard_action(self):
        """The receivables dashboard of the companies the user works in,
        on the DSO period of the context."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.res_company_action_kpulse_dashboard"
        )
        action["domain"] = [("id", "in", self.env.companies.ids)]
        action["context"] = {
            key: value
            for key, value in self.env.context.items()
            if key in ("kpulse_dso_date", "kpulse_dso_months")
        }
        return action

    def action_kpulse_open_aging(self):
        self.ensure_one()
        return self.env["kpulse.receivable.aging"]._action_open_aging(company=self)

    def action_kpulse_open_analysis(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_analysis_action"
        )
        action["domain"] = [("company_id", "=", self.id)]
        return action

    def action_kpulse_dso_period(self):
        return self.env["kpulse.dunning.dso.period"]._action_open()
