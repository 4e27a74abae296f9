from odoo import api, fields, models


class KpulseDunningLegalRate(models.Model):
    _name = "kpulse.dunning.legal.rate"
    _description = "Legal Interest Rate"
    _order = "date_from desc"
    _rec_name = "date_from"

    date_from = fields.Date(string="Valid From", required=True)
    rate = fields.Float(
        string="Rate (%)",
        digits=(16, 4),
        help="French legal interest rate for creditors other than "
        "individuals (professionals), in force from this date.",
    )

    _unique_date_from = models.Constraint(
        "UNIQUE(date_from)",
        "A legal interest rate already starts on this date: edit it instead.",
    )

    @api.model
    def _get_rate(self, date):
        """The legal rate in force on ``date``, or None before the first."""
        # sudo: public legal figures, read to check a company setting.
        legal = self.sudo().search([("date_from", "<=", date)], limit=1)
        return legal.rate if legal else None
