from odoo import api, fields, models

from ..models.kpulse_dunning_dso import DSO_DEFAULT_MONTHS


class KpulseDunningDsoPeriod(models.TransientModel):
    """Choose the period of the DSO shown in the dashboard and the aging."""

    _name = "kpulse.dunning.dso.period"
    _description = "DSO Period"

    date_to = fields.Date(
        string="Up To",
        required=True,
        default=fields.Date.context_today,
        help="Last day of the period; the receivables are those still due on that day.",
    )
    months = fields.Integer(
        required=True,
        default=DSO_DEFAULT_MONTHS,
        help="Number of months before that day whose sales the receivables "
        "are counted back against.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if "date_to" in fields_list and context.get("kpulse_dso_date"):
            values["date_to"] = context["kpulse_dso_date"]
        if "months" in fields_list and context.get("kpulse_dso_months"):
            values["months"] = context["kpulse_dso_months"]
        return values

    @api.constrains("months")
    def _check_months(self):
        for period in self:
            self.env["kpulse.dunning.dso"]._dso_check_months(period.months)

    @api.model
    def _action_open(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("DSO Period"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            # The period shown so far is the wizard's default.
            "context": {
                "dialog_size": "medium",
                **{
                    key: value
                    for key, value in self.env.context.items()
                    if key in ("kpulse_dso_date", "kpulse_dso_months")
                },
            },
        }

    def _period_context(self):
        self.ensure_one()
        return {
            "kpulse_dso_date": fields.Date.to_string(self.date_to),
            "kpulse_dso_months": self.months,
        }

    def action_open_dashboard(self):
        return (
            self.env["res.company"]
            .with_context(**self._period_context())
            ._kpulse_dashboard_action()
        )

    def action_open_aging(self):
        return (
            self.env["kpulse.receivable.aging"]
            .with_context(**self._period_context())
            ._action_open_aging()
        )
