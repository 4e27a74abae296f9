from markupsafe import Markup

from odoo import api, models


class KpulseDunningSend(models.AbstractModel):
    """Glue only: the SMS of a level is one more action of the engine.

    The SMS go through Odoo's ``sms.composer`` in mass mode, one composer
    per SMS template for the whole batch: the bodies are rendered in each
    customer's language, the SMS are queued (``sms.sms``, sent by the SMS
    queue once the batch is committed) and logged in the reminders' chatter.
    """

    _inherit = "kpulse.dunning.send"

    @api.model
    def _check_recipients(self, dunnings, failures):
        """A reminder whose only channel to the customer is the SMS fails
        when its recipient has no valid number, as an e-mail reminder does
        without an address: fix the number, send it again."""
        result = super()._check_recipients(dunnings, failures)
        sms_only = dunnings.filtered(
            lambda d: d not in failures and d.level_id._sms_is_only_channel()
        )._sms_reminders()
        failures.update(sms_only._sms_unreachable())
        return result

    @api.model
    def _do_level_actions(self, dunnings):
        result = super()._do_level_actions(dunnings)
        self._send_sms(dunnings._sms_reminders())
        return result

    @api.model
    def _send_sms(self, dunnings):
        """Queue the SMS of reminders just sent.

        A recipient without a valid number stops nothing: the e-mail or the
        letter went out, and the reminder's chatter says why no SMS did
        (reminders whose only channel is the SMS never get here, see
        ``_check_recipients``).
        """
        unreachable = dunnings._sms_unreachable()
        if unreachable:
            dunnings.browse([d.id for d in unreachable])._message_log_batch(
                bodies={
                    dunning.id: Markup("<p>%s</p>")
                    % self.env._("No SMS sent: %(reason)s", reason=reason)
                    for dunning, reason in unreachable.items()
                }
            )
        to_send = dunnings.filtered(lambda d: d not in unreachable)
        by_template = to_send.grouped(lambda d: d.level_id.sms_template_id)
        for template, batch in by_template.items():
            # Queued, not sent now: a batch rolled back sends no SMS. Odoo's
            # mass mode cancels a second SMS to the same number in the batch
            # (failure "Duplicate", in the chatter) and SMS to blacklisted
            # numbers.
            batch._message_sms_schedule_mass(
                template=template, mass_keep_log=True, mass_force_send=False
            )
