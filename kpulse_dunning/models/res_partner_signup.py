from odoo import models


class ResPartner(models.Model):
    """Customers e-mailed by the reminder engine: their portal sign-up is
    prepared once, not rewritten by every e-mail."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    def signup_prepare(self, signup_type="signup"):
        # With free sign-up (auth_signup's default), the portal prepares the
        # sign-up of a customer without a user for each e-mail it receives:
        # a write on the customer's row. Two engine workers e-mailing one
        # customer's reminders would then conflict on that row and roll a
        # batch back. Reminder e-mails leave alone the customers whose
        # sign-up is prepared already (kpulse.dunning._kpulse_prepare_signup
        # prepares it when reminders are queued); the value is the same.
        if self.env.context.get("kpulse_dunning_mailing"):
            # sudo: as the portal calls it (signup_type is for ERP managers).
            self = self.filtered(
                lambda partner: partner.sudo().signup_type != signup_type
            )
        return super().signup_prepare(signup_type)
