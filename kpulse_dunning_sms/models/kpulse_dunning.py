from odoo import api, models


class KpulseDunning(models.Model):
    """Who receives a reminder's SMS, and why one cannot."""

    _inherit = "kpulse.dunning"

    @api.model
    def _phone_get_number_fields(self):
        """A reminder has no number of its own: its SMS goes to the phone of
        its recipient, the partner of ``_mail_get_partner_fields``
        (``partner_invoice_id``)."""
        return []

    def _sms_reminders(self):
        """The reminders whose level sends an SMS. A late-payment claim
        sends none: the level's SMS speaks of invoices still due."""
        return self.filtered(
            lambda d: d.claim_type == "reminder" and d.level_id.action_sms
        )

    def _sms_unreachable(self):
        """``{reminder: reason}`` for the reminders whose recipient has no
        phone number an SMS can be sent to, by Odoo's SMS rules
        (``_sms_get_recipients_info``: the number is missing or invalid)."""
        # The recipients in one query: _sms_get_recipients_info reads them
        # one by one (each reminder's partners are prefetched on their own).
        self.partner_invoice_id.mapped("phone")
        recipients = self._sms_get_recipients_info()
        reasons = {}
        for dunning in self:
            info = recipients[dunning.id]
            if info["sanitized"]:
                continue
            partner = dunning.partner_invoice_id.display_name or dunning.name
            if info["number"]:
                reasons[dunning] = self.env._(
                    "The phone number of %(partner)s (%(number)s) is not valid "
                    "for an SMS.",
                    partner=partner,
                    number=info["number"],
                )
            else:
                reasons[dunning] = self.env._(
                    "%(partner)s has no phone number for the SMS.", partner=partner
                )
        return reasons
