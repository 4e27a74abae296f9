from odoo import api, fields, models
from odoo.exceptions import ValidationError


class KpulseDunningLevel(models.Model):
    _inherit = "kpulse.dunning.level"

    action_sms = fields.Boolean(
        string="SMS",
        help="Also send a text message to the reminder's recipient, on their "
        "phone number, through Odoo's SMS service (paid with IAP credits).",
    )
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain="[('model', '=', 'kpulse.dunning')]",
        ondelete="restrict",
        help="Text of the SMS, rendered in the customer's language.",
    )

    # === CONSTRAINT METHODS === #

    @api.constrains("action_email", "action_letter", "action_activity", "action_sms")
    def _check_one_action(self):
        # A level that sends an SMS does something: only the others are
        # checked, by the rule of kpulse_dunning.
        return super(
            KpulseDunningLevel, self.filtered(lambda level: not level.action_sms)
        )._check_one_action()

    @api.constrains("action_sms", "sms_template_id")
    def _check_sms_template(self):
        missing = self.filtered(
            lambda level: level.action_sms and not level.sms_template_id
        )
        if missing:
            raise ValidationError(
                self.env._(
                    "The reminder level “%(level)s” sends an SMS: choose its "
                    "SMS template.",
                    level=missing[0].name,
                )
            )

    # === BUSINESS METHODS === #

    def _action_labels(self):
        labels = super()._action_labels()
        if not self.action_sms:
            return labels
        sms = self._fields["action_sms"].get_description(self.env)["string"]
        return ", ".join(filter(None, [labels, sms]))

    def _sms_is_only_channel(self):
        """Whether the SMS is the only way this level reaches the customer:
        no e-mail and no letter by post (an activity is the responsible's)."""
        self.ensure_one()
        return self.action_sms and not (self.action_email or self.action_letter)
