from odoo import fields, models, tools
from odoo.exceptions import UserError

from .res_partner_followup import REPLY_ACTIVITY_TYPE


class KpulseDunning(models.Model):
    """The reminder's mail thread: who receives it, what a bounce does, and
    what a customer's reply does.

    The e-mails are posted on the reminder with Odoo's reply-to (the
    company's catchall when its alias domain has one): the customer's
    answer comes back through the mail gateway, which finds the reminder
    from the answered message's Message-Id, and posts it in its chatter.
    """

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    reply_pending = fields.Boolean(
        string="Replied",
        readonly=True,
        copy=False,
        tracking=True,
        help="The customer answered this reminder by e-mail: the answer is in "
        "its chatter. Automatic runs leave the customer alone until the "
        "reply is marked handled, or a promise to pay or a dispute is "
        "recorded.",
    )

    def _mail_get_partner_fields(self, introspect_fields=False):
        return ["partner_invoice_id"]

    # === BOUNCES === #

    def _message_receive_bounce(self, email, partner):
        """A bounced reminder failed: say so, so that it can be sent again."""
        result = super()._message_receive_bounce(email, partner)
        self._mark_delivery_failed(
            self.env._("The e-mail to %(email)s bounced.", email=email)
        )
        return result

    def _mark_delivery_failed(self, reason):
        """Sent reminders whose e-mail did not reach the customer."""
        self.filtered(lambda d: d.state == "sent").write(
            {"state": "failed", "failure_reason": reason}
        )

    # === CUSTOMER REPLIES === #

    def _message_post_after_hook(self, message, msg_values):
        """An e-mail from the customer (not from an internal user) posted by
        the mail gateway: flag the reminder and the customer, and tell the
        responsible. Called before the followers are notified, so that the
        responsible, made a follower by the activity, gets the reply."""
        result = super()._message_post_after_hook(message, msg_values)
        if self._kpulse_is_customer_reply(message, msg_values):
            self._kpulse_receive_reply(message)
        return result

    def _kpulse_is_customer_reply(self, message, msg_values):
        if len(self) != 1 or msg_values.get("message_type") != "email":
            return False
        if msg_values.get("is_internal"):
            return False
        author = message.sudo().author_id
        # An unknown sender (a colleague of the customer) is not a user.
        return not author or author.partner_share

    def _kpulse_receive_reply(self, message):
        """Flag the reminder and its customer (automatic runs pause) and
        schedule an activity for the first of the reminder's responsible
        and the company's default responsible who can read the reminder;
        nobody when neither can.

        sudo: the gateway posts as OdooBot; the flags and the activity are
        the follow-up's, their values come from the reminder, not from the
        e-mail."""
        self.ensure_one()
        reminder = self.sudo()
        reminder.reply_pending = True
        customer = reminder.partner_id.commercial_partner_id
        if not customer.kpulse_reply_pending:
            customer.kpulse_reply_pending = True
        reply_type = self.env.ref(REPLY_ACTIVITY_TYPE, raise_if_not_found=False)
        if not reply_type or reminder.activity_ids.filtered(
            lambda activity: activity.activity_type_id == reply_type
        ):
            return  # the responsible was told of the first reply already
        user = reminder._kpulse_reply_user()
        if not user:
            return
        reminder.activity_schedule(
            activity_type_id=reply_type.id,
            summary=self.env._(
                "Reply of %(customer)s to %(reminder)s",
                customer=customer.display_name,
                reminder=reminder.name,
            ),
            note=self.env._(
                "The customer answered this reminder: read the reply in the "
                "chatter, then mark it handled, or record a promise to pay or "
                "a dispute. Automatic reminders wait until then."
            ),
            date_deadline=fields.Date.context_today(reminder),
            user_id=user.id,
        )

    def _kpulse_reply_user(self):
        """Who is told of a reply: the reminder's responsible, else the
        company's default responsible; only a user who can read the
        reminder, so that a reply never reaches someone it is hidden from."""
        self.ensure_one()
        candidates = (
            self.user_id | self.company_id.kpulse_default_followup_user_id
        ).filtered(lambda user: user.active and not user.share)
        for user in candidates:
            if self._kpulse_readable_by(user):
                return user
        return self.env["res.users"]

    def _kpulse_readable_by(self, user):
        """Whether ``user`` may read this reminder, in any of his companies."""
        return (
            self.with_user(user)
            .with_context(allowed_company_ids=user.sudo().company_ids.ids)
            .has_access("read")
        )

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        """A customer's reply reaches no internal user who cannot read the
        reminder (a follower who lost access to it, for instance)."""
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        msg_vals = msg_vals or {}
        message_type = msg_vals.get("message_type") or message.message_type
        if len(self) != 1 or message_type != "email":
            return recipients
        Users = self.env["res.users"]
        return [
            recipient
            for recipient in recipients
            if not recipient.get("uid")
            or recipient.get("share")
            or self._kpulse_readable_by(Users.browse(recipient["uid"]))
        ]

    # === ACTIONS === #

    def action_reply_handled(self):
        """Mark the customers' replies handled: automatic runs resume."""
        self.check_access("read")
        customers = self.partner_id.commercial_partner_id
        if any(dunning.user_id != self.env.user for dunning in self):
            customers._kpulse_check_can_handle_reply()
        replied = self.filtered("reply_pending").partner_id.commercial_partner_id
        handled = replied | customers.filtered("kpulse_reply_pending")
        if not handled:
            return customers._kpulse_reply_notification(
                self.env._("No reply to handle: it was marked handled already."),
                "info",
            )
        handled._kpulse_clear_reply_pending()
        return customers._kpulse_reply_notification(
            self.env._(
                "Reply of %(customers)s handled: automatic reminders resume.",
                customers=", ".join(handled.mapped("display_name")),
            ),
            "success",
        )

    def _check_sender(self):
        """Refuse at the click the e-mails the mail queue could only fail:
        with no sender address at all (none on the user who sends, none
        set as the default sender of the company's e-mail domain, none
        given to the server), every e-mail would end *Failed* later."""
        by_email = self.filtered("level_id.action_email")
        if not by_email:
            return
        _author_id, email_from = by_email._message_compute_author()
        if email_from or tools.config.get("email_from"):
            return
        # sudo: the default sender is the e-mail domain's configuration,
        # which billing users may not read; only its presence is checked.
        without = by_email.company_id.sudo().filtered(
            lambda company: not company.default_from_email
        )
        if without:
            raise UserError(
                self.env._(
                    "These reminders cannot be e-mailed: there is no sender "
                    "address. Set an e-mail address on your user "
                    "(%(user)s), or a default sender on the e-mail domain "
                    "of %(companies)s (Settings > Technical > Email > Alias "
                    "Domains, or Settings > General Settings > Discuss).",
                    user=self.env.user.name,
                    companies=", ".join(without.mapped("name")),
                )
            )
