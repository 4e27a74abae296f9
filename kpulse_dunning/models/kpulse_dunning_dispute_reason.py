from odoo import fields, models


class KpulseDunningDisputeReason(models.Model):
    """Why a customer disputes an invoice: a short list the accountant
    chooses from (price, quality, not delivered, other), shown in the letters
    and in the reason an invoice is not reminded."""

    _name = "kpulse.dunning.dispute.reason"
    _description = "Invoice Dispute Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(
        translate=True, help="When to choose this reason (for your users)."
    )
