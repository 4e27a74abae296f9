from odoo import fields, models


class KpulseDunningPenalty(models.Model):
    _name = "kpulse.dunning.penalty"
    _description = "Late-Payment Penalty Period"
    _order = "line_id, date_due, date_from, id"
    # Written with its line and reminder, whose log it shares: see
    # kpulse.dunning.line.
    _log_access = False

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
    # Floats, not Monetary, as on the reminder lines: the amounts are rounded
    # in the invoice currency when computed, and Monetary rounds again one
    # record at a time, which cost a third of an automatic run of 10,000.
    base_amount = fields.Float(
        string="Amount Due", help="Amount of the instalment still due on these days."
    )
    rate = fields.Float(string="Annual Rate (%)", digits=(16, 4))
    amount = fields.Float(
        string="Penalty",
        help="Amount due × annual rate × days / 365, rounded in the invoice currency.",
    )
