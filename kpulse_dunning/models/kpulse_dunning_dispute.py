from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError


class KpulseDunningDispute(models.Model):
    """The customer disputes an invoice (price, quality, not delivered...):
    while the dispute is open, the invoice is not reminded and letters list
    it apart; resolving it lets the chase resume."""

    _name = "kpulse.dunning.dispute"
    _inherit = ["mail.thread"]
    _description = "Invoice Dispute"
    _order = "date desc, id desc"
    _check_company_auto = True
    _rec_names_search = ["move_id", "partner_id"]

    # Two users disputing the same invoice at the same time: the second one
    # gets this message instead of a second open dispute.
    _one_open_dispute_per_invoice = models.UniqueIndex(
        "(move_id) WHERE state = 'open'",
        "This invoice is already under dispute: resolve that dispute first.",
    )

    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        domain=[("move_type", "=", "out_invoice"), ("state", "=", "posted")],
    )
    partner_id = fields.Many2one(
        related="move_id.commercial_partner_id",
        string="Customer",
        store=True,
        index=True,
    )
    company_id = fields.Many2one(related="move_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="move_id.currency_id")
    invoice_user_id = fields.Many2one(
        related="move_id.invoice_user_id", string="Salesperson"
    )
    invoice_date_due = fields.Date(related="move_id.invoice_date_due")
    amount_residual = fields.Monetary(
        related="move_id.amount_residual", string="Amount Due"
    )
    reason_id = fields.Many2one(
        "kpulse.dunning.dispute.reason",
        string="Reason",
        required=True,
        ondelete="restrict",
        tracking=True,
    )
    note = fields.Text(help="What the customer says, in a few words.")
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="Who recorded the dispute and follows it up.",
    )
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved")],
        default="open",
        required=True,
        index=True,
        tracking=True,
        copy=False,
    )
    date = fields.Date(
        string="Disputed On", required=True, default=fields.Date.context_today
    )
    resolved_date = fields.Date(string="Resolved On", readonly=True, copy=False)
    resolution_note = fields.Text(
        help="How the dispute was settled (credit note, delivery, explanation)."
    )

    # === COMPUTE METHODS === #

    @api.depends("move_id.name", "reason_id.name")
    def _compute_display_name(self):
        for dispute in self:
            dispute.display_name = (
                f"{dispute.move_id.name or ''} ({dispute.reason_id.name or ''})"
            )

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        self.check_access("create")
        self.env["account.move"]._kpulse_check_dispute_values(
            [
                vals.get("move_id")
                for vals in vals_list
                if vals.get("move_id") and vals.get("state", "open") == "open"
            ]
        )
        disputes = super().create(vals_list)
        disputes.filtered(lambda d: d.state == "open")._on_open()
        return disputes

    def write(self, vals):
        if "move_id" in vals and any(d.move_id.id != vals["move_id"] for d in self):
            raise UserError(
                self.env._(
                    "The invoice of a dispute cannot be changed: resolve it and "
                    "record a dispute on the other invoice."
                )
            )
        reopened = self.browse()
        if vals.get("state") == "open":
            reopened = self.filtered(lambda d: d.state != "open")
            self.env["account.move"]._kpulse_check_dispute_values(reopened.move_id.ids)
        result = super().write(vals)
        reopened._on_open()
        return result

    # === ACTIONS === #

    def action_resolve(self):
        """Resolve these disputes with the resolution note of their form."""
        self._resolve()
        return True

    def action_open_invoice(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }

    # === BUSINESS METHODS === #

    def _on_open(self):
        """A dispute was recorded: the customer was heard. Their reply no
        longer waits, the invoice leaves the reminders not sent yet, and its
        chatter says why it is not reminded."""
        if not self:
            return
        moves = self.move_id
        moves.commercial_partner_id._kpulse_clear_reply_pending()
        self.env["kpulse.dunning"]._kpulse_drop_disputed_lines(moves)
        moves._message_log_batch(
            bodies={
                dispute.move_id.id: self._invoice_log(
                    self.env._("Invoice disputed:"), dispute, dispute.note
                )
                for dispute in self
            }
        )

    def _resolve(self, note=None):
        """End these disputes: the invoices may be reminded again."""
        disputes = self.filtered(lambda d: d.state == "open")
        if not disputes:
            raise UserError(self.env._("These disputes are already resolved."))
        vals = {"state": "resolved", "resolved_date": fields.Date.context_today(self)}
        if note:
            vals["resolution_note"] = note
        disputes.write(vals)
        disputes.move_id._message_log_batch(
            bodies={
                dispute.move_id.id: self._invoice_log(
                    self.env._("Dispute resolved:"), dispute, dispute.resolution_note
                )
                for dispute in disputes
            }
        )
        return disputes

    @api.model
    def _invoice_log(self, title, dispute, note):
        # Markup's % escapes every value: names and notes cannot inject HTML.
        body = Markup(
            "%s <a href='#' data-oe-model='kpulse.dunning.dispute' "
            "data-oe-id='%s'>%s</a>"
        ) % (title, dispute.id, dispute.reason_id.name)
        if note:
            body += Markup("<br/>%s") % note
        return body
