from odoo import models


class KpulseDunning(models.Model):
    """The reminder's mail thread: who receives it, and what a bounce does."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    def _mail_get_partner_fields(self, introspect_fields=False):
        return ["partner_invoice_id"]

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
