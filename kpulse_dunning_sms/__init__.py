from . import models

# The SMS template of each shipped reminder level.
LEVEL_SMS_TEMPLATES = {
    "kpulse_dunning.kpulse_dunning_level_courtesy": "sms_template_kpulse_courtesy",
    "kpulse_dunning.kpulse_dunning_level_1": "sms_template_kpulse_level_1",
    "kpulse_dunning.kpulse_dunning_level_2": "sms_template_kpulse_level_2",
    "kpulse_dunning.kpulse_dunning_level_3": "sms_template_kpulse_level_3",
}


def _assign_level_sms_templates(env):
    """Give the shipped levels their SMS template (SMS stays off: it costs
    IAP credits). A level deleted or given a template already is left
    alone, which XML records referring to the levels could not do."""
    for level_xmlid, template_name in LEVEL_SMS_TEMPLATES.items():
        level = env.ref(level_xmlid, raise_if_not_found=False)
        if level and not level.sms_template_id:
            level.sms_template_id = env.ref(f"kpulse_dunning_sms.{template_name}")


def _uninstall_level_sms(env):
    """Before the SMS templates go, the levels stop using them (they
    restrict their deletion). A level whose only action was the SMS sends
    e-mails instead, so that it still reaches the customers."""
    Level = env["kpulse.dunning.level"].with_context(active_test=False)
    with_sms = Level.search([("action_sms", "=", True)])
    with_sms.filtered(lambda level: level._sms_is_only_channel()).write(
        {"action_email": True}
    )
    with_sms.write({"action_sms": False})
    Level.search([("sms_template_id", "!=", False)]).write({"sms_template_id": False})
