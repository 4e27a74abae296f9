from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(
        self, success_pids, success_emails, failure_reason=False, failure_type=None
    ):
        """A reminder whose e-mail the mail server refused turns failed."""
        if failure_type:
            failed = self.filtered(
                lambda mail: mail.model == "kpulse.dunning" and mail.res_id
            )
            if failed:
                # sudo: the mail queue runs as whoever triggered it; only the
                # state and failure reason of the reminders these mails were
                # sent for are written.
                dunnings = (
                    self.env["kpulse.dunning"].sudo().browse(failed.mapped("res_id"))
                )
                dunnings.exists()._mark_delivery_failed(
                    self.env._(
                        "The e-mail could not be delivered: %(reason)s",
                        reason=failure_reason
                        or dict(
                            self.env["mail.notification"]
                            ._fields["failure_type"]
                            ._description_selection(self.env)
                        ).get(failure_type, failure_type),
                    )
                )
        return super()._postprocess_sent_message(
            success_pids,
            success_emails,
            failure_reason=failure_reason,
            failure_type=failure_type,
        )
