"""Template code is code: the rules of Odoo's mail templates (issue 8,
findings 1, 2, 3 and the empty letter of 10)."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import TODAY, KpulseDunningCommon

SECRET_EXPRESSION = (
    "int(object.env['ir.config_parameter'].sudo().get_param('database.secret'))"
)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestTemplateSecurity(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A billing administrator outside "Mail Template Editor", as Odoo 19
        # sets it up by default (mail.restrict.template.rendering).
        cls.env["ir.config_parameter"].set_param("mail.restrict.template.rendering", 1)
        cls.author = new_test_user(
            cls.env,
            login="kpulse_template_author",
            groups="account.group_account_manager",
            company_id=cls.env.company.id,
        )
        cls.editor = new_test_user(
            cls.env,
            login="kpulse_template_editor",
            groups="account.group_account_manager,mail.group_mail_template_editor",
            company_id=cls.env.company.id,
        )
        cls.secret = cls.env["ir.config_parameter"].get_param("database.secret")
        cls._create_dunnings(cls._overdue_invoice(20))

    def _template_vals(self, **vals):
        return {"name": "Probe", "level_id": self.level_1.id, **vals}

    def test_no_render_before_access_check(self):
        """Finding 1: a non-editor's code is refused before it runs."""
        Template = self.env["kpulse.dunning.template"].with_user(self.author)
        probes = [
            ("subject", "{{ object.env.cr.dbname }}"),
            (
                "letter_html",
                "<p><t t-out=\"object.env['res.users'].sudo().search([], limit=1)"
                '.name"/></p>',
            ),
            ("body_html", '<p><t t-out="object.env.cr.dbname"/></p>'),
        ]
        registry_class = type(self.env["kpulse.dunning.template"])
        for fname, source in probes:
            with (
                self.subTest(fname),
                patch.object(
                    registry_class,
                    "_render_template",
                    autospec=True,
                    side_effect=AssertionError("rendered before the access check"),
                ) as render,
            ):
                with self.assertRaisesRegex(AccessError, "Mail Template Editor"):
                    with self.env.cr.savepoint():
                        Template.create(self._template_vals(**{fname: source}))
                template = self.template_1.with_user(self.author)
                with self.assertRaisesRegex(AccessError, "Mail Template Editor"):
                    with self.env.cr.savepoint():
                        template.write({fname: source})
                self.assertFalse(render.called, "nothing rendered before the check")

    def test_refusal_names_the_expression(self):
        """The refusal tells the author which expression needs the group."""
        with self.assertRaisesRegex(AccessError, "no_such_field") as capture:
            with self.env.cr.savepoint():
                self.template_1.with_user(self.author).write(
                    {"subject": "Hello {{ object.no_such_field }}"}
                )
        self.assertIn("Mail Template Editor", str(capture.exception))

    def test_non_editor_saves_dynamic_fields(self):
        """Plain placeholders and the declared formatted fields stay allowed,
        and the check at save renders them in restricted mode."""
        template = (
            self.env["kpulse.dunning.template"]
            .with_user(self.author)
            .create(
                self._template_vals(
                    subject="Reminder for {{ object.customer_name }}",
                    letter_html='<p><t t-out="format_amount(object.amount_claimed,'
                    ' object.currency_id)"/> <t t-out="object.customer_name"/></p>',
                )
            )
        )
        self.assertIn("customer_name", template.subject)

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_errors_never_echo_values(self):
        """Finding 2: an editor's failing expression is named, its value is not."""
        template = self.template_1.with_user(self.editor)
        for fname, source in [
            ("subject", f"{{{{ {SECRET_EXPRESSION} }}}}"),
            ("letter_html", f'<p><t t-out="{SECRET_EXPRESSION}"/></p>'),
        ]:
            with self.subTest(fname):
                with self.assertRaises(ValidationError) as capture:
                    with self.env.cr.savepoint():
                        template.write({fname: source})
                self.assertNotIn(self.secret, str(capture.exception))
                self.assertIn("ValueError", str(capture.exception))

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_send_failure_does_not_echo_values(self):
        """Finding 2 at sending: the failure reason hides the value too."""
        other = self._create_dunnings(
            self._overdue_invoice(15, partner=self.customer_2)
        )
        self._create_dunnings(self._overdue_invoice(16))  # the sample at save
        template = self.template_1.copy()
        # Renders on the sample (Brasserie Dupont), fails for Atelier Martin.
        template.with_user(self.editor).subject = (
            "{{ object.partner_id.name == 'Atelier Martin' and "
            f"{SECRET_EXPRESSION} }}}}"
        )
        other.template_id = template
        other.action_send()
        self.assertEqual(other.state, "failed")
        self.assertTrue(other.failure_reason)
        self.assertNotIn(self.secret, other.failure_reason)

    def test_letter_is_sanitized(self):
        """Finding 3: no scripts or event handlers; editors keep QWeb."""
        template = self.template_1.with_user(self.editor)
        template.letter_html = (
            "<p>Hello<script>alert(1)</script>"
            '<img src="/web/image/res.partner/1/avatar_128" onerror="alert(2)"/>'
            '<t t-foreach="object.line_ids" t-as="line">'
            '<span t-out="line.move_id.name"/></t></p>'
        )
        stored = template.letter_html
        self.assertNotIn("<script", stored)
        self.assertNotIn("alert(1)", stored)
        self.assertNotIn("onerror", stored)
        self.assertIn('t-foreach="object.line_ids"', stored)
        dunning = self.env["kpulse.dunning"].search([], limit=1)
        dunning.template_id = template
        letter = dunning._render_letter_bodies()[dunning.id]
        self.assertNotIn("<script", letter)
        self.assertIn(dunning.line_ids.move_id[:1].name, letter)

    def test_empty_letter_refused(self):
        """Finding 10: a template must have a letter to print."""
        for empty in (False, "<p><br></p>"):
            with self.subTest(empty=empty):
                with self.assertRaisesRegex(ValidationError, "letter"):
                    with self.env.cr.savepoint():
                        self.env["kpulse.dunning.template"].create(
                            self._template_vals(letter_html=empty)
                        )
                with self.assertRaisesRegex(ValidationError, "letter"):
                    with self.env.cr.savepoint():
                        self.template_1.letter_html = empty
