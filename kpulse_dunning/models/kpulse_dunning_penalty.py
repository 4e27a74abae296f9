from odoo import fields, models


class KpulseDunningPenalty(models.Model):
    _name = "kpulse.dunning.penalty"
    _description = "Late-Payment Penalty Period"
    _order = "line_id, date_due, date_from, id"

    line_id = fields.Many2one(
        "kpulse.dunning.line",
        string="Reminder Invoice",
        required=True,
        index=True,
        ondelete="cascade",
    )
    move_id = fields.Many2one(related="line_id.move_id", string="Invoice")
    company_id = fields.Many2one(related="line_id.company_id")
    currency_id = fields.Many2one(related="line_id.currency_id")
    date_due = fields.Date(
        string="Due Date", help="Due date of the instalment this period is late on."
    )
    date_from = fields.Date(string="From", required=True)
    date_to = fields.Date(string="To", required=True, help="Included.")
    days = fields.Integer()
    base_amount = fields.Monetary(
        string="Amount Due", help="Amount of the instalment still due on these days."
    )
    rate = fields.Float(string="Annual Rate (%)", digits=(16, 4))
    amount = fields.Monetary(
        string="Penalty",
        help="Amount due × annual rate × days / 365, rounded in the invoice currency.",
    )
