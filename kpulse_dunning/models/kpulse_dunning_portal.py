from odoo import api, models
from odoo.fields import Domain

from .kpulse_dunning_batch import ensure_access_tokens

# States of the reminders a customer sees in the portal, once sent to them
# (the portal record rule in security/kpulse_dunning_portal_security.xml
# says the same).
PORTAL_STATES = ("sent", "failed", "paid")


class KpulseDunning(models.Model):
    """The reminder in the customer portal: its page under ``/my/reminders``,
    reached with the reminder's access token (the links of its e-mail and
    letter) or by the customer's own portal users."""

    # One concept per file: this class extends the model on purpose.
    _name = "kpulse.dunning"
    _inherit = ["kpulse.dunning", "portal.mixin"]  # pylint: disable=consider-merging-classes-inherited

    # === COMPUTE METHODS === #

    def _compute_access_url(self):
        for dunning in self:
            dunning.access_url = f"/my/reminders/{dunning.id}"

    # === BUSINESS METHODS === #

    @api.model
    def _portal_domain(self):
        """The reminders a customer sees in the portal: those that were sent
        to them (not drafts, not cancelled, not those closed as paid before
        anything was sent)."""
        return Domain("state", "in", PORTAL_STATES) & Domain("sent_date", "!=", False)

    def _kpulse_portal_path(self):
        """The reminder's portal page, with its access token once given (when
        the reminder is sent or printed). Never writes: a render calls it."""
        self.ensure_one()
        dunning_id = self._origin.id
        if not dunning_id:  # a preview of a reminder not yet created
            return "/my/reminders"
        if self.access_token:
            return f"/my/reminders/{dunning_id}?access_token={self.access_token}"
        return f"/my/reminders/{dunning_id}"

    def _kpulse_ensure_access_tokens(self):
        """Give every reminder its portal access token, all in one query;
        the payment link read before the token was given is read again."""
        ensure_access_tokens(self, dependent=["portal_url"])

    def _portal_letter_pdf(self):
        """The letter of this reminder as the customer received it: the PDF
        attached to the reminder when it was sent; rendered again only if
        that copy is gone."""
        self.ensure_one()
        sent_copy = self.env["ir.attachment"].search(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("name", "=", self._letter_filename()),
            ],
            order="id desc",
            limit=1,
        )
        if sent_copy:
            return sent_copy.raw
        return self._render_letter_pdfs()[self.id]
