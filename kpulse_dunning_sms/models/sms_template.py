from odoo import api, models


class SmsTemplate(models.Model):
    _inherit = "sms.template"

    @api.model
    def _render_template(
        self,
        template_src,
        model,
        res_ids,
        engine="inline_template",
        add_context=None,
        options=None,
    ):
        # As kpulse_dunning does for its templates: Odoo renders a template
        # made only of allowed expressions with a regex that reads plain
        # field paths, so the allowed format_amount and format_date calls of
        # the reminders' dynamic fields would come out empty. SMS templates
        # are trusted (_unrestricted_rendering; only administrators save
        # them, with Odoo's check of their expressions): use the real engine.
        renderer = self
        if model == "kpulse.dunning":
            renderer = self.with_context(kpulse_dunning_sms_full_render=True)
        return super(SmsTemplate, renderer)._render_template(
            template_src,
            model,
            res_ids,
            engine=engine,
            add_context=add_context,
            options=options,
        )

    @api.model
    def _has_unsafe_expression_template_inline_template(
        self, template_txt, model, fname=None
    ):
        if self.env.context.get("kpulse_dunning_sms_full_render"):
            return True
        return super()._has_unsafe_expression_template_inline_template(
            template_txt, model, fname
        )
