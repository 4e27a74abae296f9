import re

from lxml import html

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.mail import is_html_empty
from odoo.tools.rendering_tools import parse_inline_template

from .ir_qweb import COMPILE_CACHE_KEY

# "object.<name>" in a template's source: names that are no field are the
# usual mistake, and can be reported without evaluating anything.
OBJECT_ATTRIBUTE = re.compile(r"\bobject\.([A-Za-z_]\w*)")
QWEB_DIRECTIVE = re.compile(r"\st-[\w-]+=")
EDITOR_GROUP = "mail.group_mail_template_editor"
TEMPLATE_FIELDS = ("subject", "body_html", "letter_html")
# A refusal names the first few expressions; the author fixes them in turn.
MAX_NAMED_EXPRESSIONS = 5


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
    _check_company_auto = True

    level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Level",
        required=True,
        ondelete="restrict",
        check_company=True,
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
    # Sanitized like a mail template's body: no scripts or event handlers
    # (wkhtmltopdf would run them), QWeb directives kept for editors.
    letter_html = fields.Html(
        string="Letter Content",
        render_engine="qweb",
        translate=True,
        sanitize="email_outgoing",
        help="Content of the PDF letter. It is HTML: <br/> breaks a line.",
    )
    attach_invoice = fields.Boolean(
        string="Attach Invoices",
        default=True,
        help="Attach the PDF of each invoice concerned to the e-mail.",
    )
    attach_statement = fields.Boolean(
        help="Attach the customer's statement (open invoices and credit notes "
        "with their totals by age) to the e-mail, as a PDF.",
    )
    claim_type = fields.Selection(
        [("reminder", "Reminder"), ("late_payment", "Late-payment claim")],
        string="Kind",
        default="reminder",
        required=True,
        help="Reminder templates are proposed for invoices still due; "
        "late-payment claim templates for the claims of invoices paid late.",
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

    @api.model
    def _get_claim_template(self, company):
        """The first active late-payment claim template usable by ``company``
        (its own before the shared ones)."""
        return self.search(
            [
                ("claim_type", "=", "late_payment"),
                ("company_id", "in", [False, company.id]),
            ],
            order="company_id, sequence, id",
            limit=1,
        )

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
        # format_amount calls would come out as source. Saved templates are
        # trusted (_unrestricted_rendering; only editors can save code), so
        # always use the real engines; the check at save restricts them.
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
    def _render_template_qweb(
        self, template_src, model, res_ids, add_context=None, options=None
    ):
        if self.env.context.get("kpulse_dunning_restricted_render"):
            # What Odoo does for non-editors of restricted models: QWeb
            # compiles only the allowed expressions and directives.
            options = dict(options or {}, raise_on_forbidden_code_for_model=model)
        # Compile the source once for the whole batch (ir_qweb.py says why).
        batch_render = self.with_context(**{COMPILE_CACHE_KEY: {}})
        return super(KpulseDunningTemplate, batch_render)._render_template_qweb(
            template_src, model, res_ids, add_context=add_context, options=options
        )

    @api.model
    def _render_template_inline_template(
        self, template_txt, model, res_ids, add_context=None, options=None
    ):
        if self.env.context.get("kpulse_dunning_restricted_render"):
            forbidden = self._forbidden_inline_expressions(template_txt, model)
            if forbidden:
                raise self._editor_access_error(forbidden)
        return super()._render_template_inline_template(
            template_txt, model, res_ids, add_context=add_context, options=options
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

    @api.model
    def _render_error_summary(self, error, source=None):
        """What went wrong in a render, without any value it computed.

        Messages of rendering errors quote what the code evaluated (an
        ``int()`` of a secret, a missing key...): only the names the author
        wrote and the kind of error are shown.
        """
        unknown = self._unknown_fields(source) if source else []
        if unknown:
            return self.env._(
                "unknown field(s) %(names)s", names=", ".join(sorted(unknown))
            )
        cause = error
        while cause.__cause__ is not None:
            cause = cause.__cause__
        return self.env._(
            "an expression failed with %(error_type)s", error_type=type(cause).__name__
        )

    @api.model
    def _unknown_fields(self, source):
        dunning = self.env["kpulse.dunning"]
        return {
            name
            for name in OBJECT_ATTRIBUTE.findall(str(source))
            if name not in dunning._fields and not hasattr(dunning, name)
        }

    # === SECURITY === #

    def _is_template_editor(self):
        return self.env.su or self.env.user.has_group(EDITOR_GROUP)

    def _check_access_right_dynamic_template(self):
        """Odoo's check, with a refusal that names what needs the group."""
        if self._is_template_editor():
            return
        model = "kpulse.dunning"
        # As mail.render.mixin: every text field is a template, inline unless
        # it says otherwise. The template's own fields come first.
        fnames = list(TEMPLATE_FIELDS) + [
            fname
            for fname, field in self._fields.items()
            if field.type in ("char", "text", "html") and fname not in TEMPLATE_FIELDS
        ]
        forbidden = []
        # sudo: reads the sources just saved, in every field, whoever saved them.
        for template in self.sudo():
            for fname in fnames:
                engine = getattr(self._fields[fname], "render_engine", None)
                if engine == "qweb":
                    forbidden += self._forbidden_qweb_code(template[fname], model)
                else:
                    forbidden += self._forbidden_inline_expressions(
                        template[fname], model
                    )
        if forbidden:
            raise self._editor_access_error(forbidden)

    @api.model
    def _forbidden_inline_expressions(self, template_txt, model):
        if not template_txt:
            return []
        IrQweb = self.env["ir.qweb"]
        return [
            f"{{{{ {expression.strip()} }}}}"
            for _text, expression, _default in parse_inline_template(str(template_txt))
            if expression and not IrQweb._is_expression_allowed(expression, model)
        ]

    @api.model
    def _forbidden_qweb_code(self, template_src, model):
        """The QWeb directives a non-editor may not save (parsed, never run)."""
        if not template_src:
            return []
        IrQweb = self.env["ir.qweb"]
        forbidden = []
        root = html.fragment_fromstring(str(template_src), create_parent="div")
        for element in root.iter():
            for attribute, value in element.attrib.items():
                if not attribute.startswith("t-"):
                    continue
                if attribute in ("t-out", "t-esc") and len(element) == 0:
                    if IrQweb._is_expression_allowed(value, model):
                        continue
                forbidden.append(f'{attribute}="{value}"')
        return forbidden

    def _editor_access_error(self, forbidden):
        group = self.env.ref(EDITOR_GROUP)
        forbidden = list(dict.fromkeys(forbidden))
        if len(forbidden) > MAX_NAMED_EXPRESSIONS:
            forbidden = forbidden[:MAX_NAMED_EXPRESSIONS] + ["…"]
        return AccessError(
            self.env._(
                "Only members of the “%(group)s” group can save templates with "
                "these expressions: %(expressions)s\n\nOther users can use the "
                "dynamic fields listed in the Dynamic Fields tab.",
                group=group.name,
                expressions=", ".join(forbidden),
            )
        )

    # === CONSTRAINT METHODS === #

    @api.constrains("letter_html")
    def _check_letter_not_empty(self):
        # A letter made only of QWeb output (<t t-out="..."/>) has no text
        # yet is not empty.
        empty = self.filtered(
            lambda template: is_html_empty(template.letter_html)
            and not QWEB_DIRECTIVE.search(str(template.letter_html or ""))
        )
        if empty:
            raise ValidationError(
                self.env._(
                    "The template “%(template)s” has no letter content: every "
                    "reminder is sent with its letter.",
                    template=empty[0].name,
                )
            )

    def _check_renders(self):
        """Refuse a template that does not render: it would fail at sending.

        Not a constraint: constraints run inside ``create``/``write``, before
        ``mail.render.mixin`` checks who may save code. This runs after that
        check, rendering as the author would: restricted for non-editors.
        """
        restricted = not self._is_template_editor()
        sample = self.with_context(kpulse_dunning_restricted_render=restricted)
        sample = sample._render_sample()
        for template in self.with_context(kpulse_dunning_restricted_render=restricted):
            for fname in TEMPLATE_FIELDS:
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
                except AccessError:
                    raise
                except UserError as error:
                    raise ValidationError(
                        self.env._(
                            "The %(field)s of the template “%(template)s” cannot "
                            "be rendered: %(problem)s. Check its dynamic fields.",
                            field=self._fields[fname].get_description(self.env)[
                                "string"
                            ],
                            template=template.name,
                            problem=self._render_error_summary(error, source),
                        )
                    ) from None

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

    @api.model_create_multi
    def create(self, vals_list):
        # mail.render.mixin checks the author's rights first; then we render.
        templates = super().create(vals_list)
        templates._check_renders()
        return templates

    def write(self, vals):
        result = super().write(vals)
        if set(TEMPLATE_FIELDS) & set(vals):
            self._check_renders()
        return result

    def _update_field_translations(
        self, field_name, translations, digest=None, source_lang=""
    ):
        result = super()._update_field_translations(
            field_name, translations, digest=digest, source_lang=source_lang
        )
        if field_name in TEMPLATE_FIELDS:
            for lang in translations:
                self.with_context(lang=lang)._check_renders()
        return result

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for template, vals in zip(self, vals_list, strict=True):
            vals["name"] = self.env._("%s (copy)", template.name)
        return vals_list
