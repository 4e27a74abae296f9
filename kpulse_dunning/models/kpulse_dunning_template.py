from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class KpulseDunningTemplate(models.Model):
    _name = "kpulse.dunning.template"
    _inherit = ["mail.render.mixin"]
    _description = "Reminder Template"
    _order = "level_sequence, sequence, id"
    # Like mail.template: rendering is trusted, editing sensitive placeholders
    # needs the "Mail Template Editor" group.
    _unrestricted_rendering = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    level_id = fields.Many2one(
        "kpulse.dunning.level", string="Level", required=True, ondelete="restrict"
    )
    level_sequence = fields.Integer(
        string="Level Order", related="level_id.sequence", store=True
    )
    level_color = fields.Integer(string="Level Colour", related="level_id.color")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share the template between all companies.",
    )
    subject = fields.Char(
        translate=True,
        help="E-mail subject; placeholders such as {{ object.name }} may be used.",
    )
    body_html = fields.Html(
        string="E-mail Body",
        render_engine="qweb",
        render_options={"post_process": True},
        translate=True,
        sanitize="email_outgoing",
    )
    letter_html = fields.Html(
        string="Letter Content",
        render_engine="qweb",
        translate=True,
        sanitize=False,
        help="Content of the PDF letter. It is HTML: <br/> breaks a line.",
    )
    attach_invoice = fields.Boolean(
        string="Attach Invoices",
        default=True,
        help="Attach the PDF of each invoice concerned to the e-mail.",
    )
    dunning_count = fields.Integer(compute="_compute_dunning_count")

    # === COMPUTE METHODS === #

    def _compute_render_model(self):
        self.render_model = "kpulse.dunning"

    def _compute_dunning_count(self):
        counts = dict(
            self.env["kpulse.dunning"]._read_group(
                [("template_id", "in", self.ids)], ["template_id"], ["__count"]
            )
        )
        for template in self:
            template.dunning_count = counts.get(template, 0)

    # === RENDERING === #

    def _render_template(
        self,
        template_src,
        model,
        res_ids,
        engine="inline_template",
        add_context=None,
        options=None,
    ):
        # Odoo renders a template made only of allowed expressions with a
        # regex that reads plain field paths, so the allowed format_date and
        # format_amount calls would come out as source. Rendering is trusted
        # here (_unrestricted_rendering): always use the real engines.
        return super(
            KpulseDunningTemplate, self.with_context(kpulse_dunning_full_render=True)
        )._render_template(
            template_src,
            model,
            res_ids,
            engine=engine,
            add_context=add_context,
            options=options,
        )

    @api.model
    def _has_unsafe_expression_template_qweb(self, template_src, model, fname=None):
        if self.env.context.get("kpulse_dunning_full_render"):
            return True
        return super()._has_unsafe_expression_template_qweb(template_src, model, fname)

    @api.model
    def _has_unsafe_expression_template_inline_template(
        self, template_txt, model, fname=None
    ):
        if self.env.context.get("kpulse_dunning_full_render"):
            return True
        return super()._has_unsafe_expression_template_inline_template(
            template_txt, model, fname
        )

    # === CONSTRAINT METHODS === #

    @api.constrains("subject", "body_html", "letter_html")
    def _check_renders(self):
        """Refuse a template that does not render: it would fail at sending."""
        sample = self._render_sample()
        for template in self:
            for fname in ("subject", "body_html", "letter_html"):
                source = template[fname]
                if not source:
                    continue
                engine = getattr(
                    self._fields[fname], "render_engine", "inline_template"
                )
                try:
                    # _ids, not ids: the sample may be a new record.
                    template._render_template(
                        source, "kpulse.dunning", list(sample._ids), engine=engine
                    )
                except UserError as error:
                    raise ValidationError(
                        self.env._(
                            "The %(field)s of the template “%(template)s” cannot be "
                            "rendered. Check its dynamic fields.\n\n%(error)s",
                            field=self._fields[fname].get_description(self.env)[
                                "string"
                            ],
                            template=template.name,
                            error=error,
                        )
                    ) from error

    def _render_sample(self):
        """A reminder to try templates on: a real one when there is one."""
        Dunning = self.env["kpulse.dunning"]
        sample = Dunning.search([], limit=1)
        if sample:
            return sample
        company = self.env.company
        return Dunning.new(
            {
                "partner_id": company.partner_id.id,
                "company_id": company.id,
                "currency_id": company.currency_id.id,
            }
        )

    # === CRUD === #

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for template, vals in zip(self, vals_list, strict=True):
            vals["name"] = self.env._("%s (copy)", template.name)
        return vals_list

    # === BUSINESS METHODS === #

    @api.model
    def _get_default_for_level(self, level, company):
        return self.search(
            [("level_id", "=", level.id), ("company_id", "in", [False, company.id])],
            limit=1,
        )
