from odoo import api, fields, models
from odoo.exceptions import AccessError

# Activity scheduled for the responsible when a customer answers a reminder.
REPLY_ACTIVITY_TYPE = "kpulse_dunning.mail_activity_type_kpulse_reply"


class ResPartner(models.Model):
    """Who follows up a customer, and whether the customer's last reply
    waits for that person: what promises, disputes, replies and automatic
    runs all ask of the customer."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    kpulse_followup_user_id = fields.Many2one(
        "res.users",
        string="Follow-up Responsible",
        domain=[("share", "=", False)],
        tracking=True,
        help="User who follows up this customer's unpaid invoices: new "
        "reminders, activities, broken promises and replies go to them. "
        "Empty: the customer's salesperson, else the company's default "
        "responsible (Settings > Reminders). Set on the company: its "
        "contacts follow it.",
    )
    kpulse_reply_pending = fields.Boolean(
        string="Reply to Handle",
        readonly=True,
        copy=False,
        tracking=True,
        help="The customer answered a reminder. Automatic runs leave this "
        "customer alone until the responsible marks the reply handled, or "
        "records a promise to pay or a dispute.",
    )

    # === BUSINESS METHODS === #

    @api.model
    def _kpulse_followup_users(self, partners, company):
        """``{commercial partner id: res.users}`` of who follows up each of
        ``partners`` in ``company``: their responsible, else their
        salesperson, else the company's default responsible (an empty
        recordset when none is set). Read in one pass for a batch."""
        commercial = partners.commercial_partner_id
        default = company.kpulse_default_followup_user_id
        return {
            partner.id: partner.kpulse_followup_user_id or partner.user_id or default
            for partner in commercial
        }

    def _kpulse_clear_reply_pending(self):
        """The responsible handled the customer's reply (cleared it, or
        recorded a promise or a dispute): automatic runs resume, the
        customer's reminders lose their *Replied* flag and the activities
        the replies scheduled are marked done.

        sudo: these are flags of the follow-up, not the customer's data;
        the callers checked that the user may handle this customer's
        replies (``action_kpulse_reply_handled``, the reminder's button,
        promises and disputes).
        """
        commercial = self.commercial_partner_id.sudo()
        pending = commercial.filtered("kpulse_reply_pending")
        if pending:
            pending.kpulse_reply_pending = False
        replied = (
            self.env["kpulse.dunning"]
            .sudo()
            .search(
                [("partner_id", "in", commercial.ids), ("reply_pending", "=", True)]
            )
        )
        if not replied:
            return
        replied.reply_pending = False
        reply_type = self.env.ref(REPLY_ACTIVITY_TYPE, raise_if_not_found=False)
        activities = replied.activity_ids.filtered(
            lambda activity: activity.activity_type_id == reply_type
        )
        if activities:
            activities.action_feedback(feedback=self.env._("Reply handled."))

    def _kpulse_check_can_handle_reply(self):
        """Billing users handle any customer's reply; others only the
        replies of the customers they follow up."""
        if self.env.su or self.env.user.has_group("account.group_account_invoice"):
            return
        self.check_access("read")
        followed = {
            partner
            for company in self.env.companies
            for partner, user in self._kpulse_followup_users(self, company).items()
            if user == self.env.user
        }
        others = self.commercial_partner_id.filtered(lambda p: p.id not in followed)
        if others:
            raise AccessError(
                self.env._(
                    "Only billing users and the follow-up responsible can mark "
                    "the reply of %(customers)s handled.",
                    customers=", ".join(others.mapped("display_name")),
                )
            )

    # === ACTIONS === #

    def action_kpulse_reply_handled(self):
        """Mark the customer's reply handled: automatic runs resume."""
        self._kpulse_check_can_handle_reply()
        pending = self.commercial_partner_id.filtered("kpulse_reply_pending")
        if not pending:
            return self._kpulse_reply_notification(
                self.env._("No reply to handle: it was marked handled already."),
                "info",
            )
        pending._kpulse_clear_reply_pending()
        return self._kpulse_reply_notification(
            self.env._(
                "Reply of %(customers)s handled: automatic reminders resume.",
                customers=", ".join(pending.mapped("display_name")),
            ),
            "success",
        )

    @api.model
    def _kpulse_reply_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Customer reply"),
                "message": message,
                "type": kind,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
