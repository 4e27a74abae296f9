from ast import literal_eval

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import html2plaintext, mute_logger
from odoo.tools.convert import convert_file

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningConfig(KpulseDunningCommon):
    def test_default_levels(self):
        levels = self.env["kpulse.dunning.level"].search([])
        self.assertEqual(levels[:3], self.level_1 | self.level_2 | self.level_3)
        self.assertEqual(levels[:3].mapped("delay_days"), [7, 21, 45])
        self.assertEqual(
            levels[:3].mapped("name"),
            ["First reminder", "Second reminder", "Formal notice"],
        )
        self.assertEqual(
            len(set(levels[:3].mapped("color"))), 3, "each level has its colour"
        )
        for level, template in (
            (self.level_1, self.template_1),
            (self.level_2, self.template_2),
            (self.level_3, self.template_3),
        ):
            self.assertEqual(level._get_default_template(self.env.company), template)
            self.assertIn("Total due", template.body_html)

    def test_default_data_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning")._update_translations(["fr_FR"])
        levels = (self.level_1 | self.level_2 | self.level_3).with_context(lang="fr_FR")
        self.assertEqual(
            levels.mapped("name"),
            ["Relance amiable", "Deuxième relance", "Mise en demeure"],
        )
        self.assertIn(
            "Madame, Monsieur", self.template_1.with_context(lang="fr_FR").letter_html
        )

    def test_level_order_and_validation(self):
        level = self.env["kpulse.dunning.level"].create(
            {"name": "Final call", "sequence": 15, "delay_days": 14}
        )
        ordered = self.env["kpulse.dunning.level"].search([])
        self.assertEqual(
            ordered[:4], self.level_1 | level | self.level_2 | self.level_3
        )
        self.assertEqual(self.level_1._get_next_level(self.env.company), level)
        self.assertFalse(self.level_3._get_next_level(self.env.company))
        with self.assertRaisesRegex(ValidationError, "same order"):
            self.env["kpulse.dunning.level"].create({"name": "Clash", "sequence": 20})
        # A negative delay makes a courtesy level, which comes first.
        with self.assertRaises(ValidationError) as caught:  # rolled back
            self.env["kpulse.dunning.level"].create(
                {"name": "Negative", "sequence": 99, "delay_days": -1}
            )
        self.assertIn("it comes first", str(caught.exception))
        # An archived level frees its order.
        level.active = False
        self.env["kpulse.dunning.level"].create({"name": "Again", "sequence": 15})

    def test_demo_data_loads(self):
        # pylint: disable=no-value-for-parameter
        convert_file(
            self.env,
            "kpulse_dunning",
            "demo/kpulse_dunning_demo.xml",
            idref={},
            mode="init",
            noupdate=False,
        )
        dunnings = self.env["kpulse.dunning"].search(
            [
                (
                    "partner_id.name",
                    "in",
                    [
                        "Brasserie Dupont SARL",
                        "Atelier Martin",
                        "Nordwind Logistics GmbH",
                        "Café des Arts",
                    ],
                )
            ]
        )
        self.assertEqual(
            sorted(dunnings.mapped("state")), ["draft", "draft", "failed", "sent"]
        )
        nordwind = dunnings.filtered(
            lambda d: d.partner_id.name == "Nordwind Logistics GmbH"
        )
        self.assertEqual(nordwind.amount_residual, 8300.0)
        self.assertEqual(nordwind.line_ids.currency_id, self.env.company.currency_id)
        # Lines created one by one get their penalties too (second reminder).
        self.assertTrue(all(nordwind.line_ids.mapped("penalty_amount")))
        self.assertTrue(all(nordwind.line_ids.mapped("indemnity_amount")))
        brasserie = self.env.ref("kpulse_dunning.demo_partner_brasserie")
        self.assertEqual(
            self.env.ref(
                "kpulse_dunning.demo_dunning_sent"
            ).partner_invoice_id.parent_id,
            brasserie,
            "sent to the invoice contact",
        )

    def test_level_form(self):
        with Form(self.env["kpulse.dunning.level"]) as form:
            form.name = "Phone call"
            form.sequence = 40
            form.delay_days = 60
            form.color = 4
        level = form.record
        self.assertEqual(level.color, 4)
        self.assertEqual(self.level_3._get_next_level(self.env.company), level)

    def test_template_rendering(self):
        invoices = self._overdue_invoice(20, 1200.0) | self._overdue_invoice(10, 300.0)
        dunning = self._create_dunnings(invoices, grouping="partner")
        self.assertEqual(len(dunning), 1)
        subject = self.template_1._render_field(
            "subject", dunning.ids, compute_lang=True
        )
        self.assertEqual(
            subject[dunning.id],
            f"{self.env.company.name}: payment reminder {dunning.name}",
        )
        body = self.template_1._render_field(
            "body_html", dunning.ids, compute_lang=True
        )[dunning.id]
        self.assertIn("Dear Brasserie Dupont", body)
        for invoice in invoices:
            self.assertIn(invoice.name, body)
        self.assertIn("1,500.00", body, "the total due is listed")

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_template_validation_at_save(self):
        self._create_dunnings(self._overdue_invoice(20))
        cases = [
            ("body_html", "<p><t t-out='object.no_such_field'/></p>", "no_such_field"),
            (
                "letter_html",
                "<p><t t-foreach='object.line_ids'>x</t></p>",
                "Letter Content",
            ),
            ("subject", "Reminder {{ object.nmae }}", "nmae"),
        ]
        for fname, source, message in cases:
            with self.subTest(fname), self.assertRaisesRegex(ValidationError, message):
                with self.env.cr.savepoint():
                    self.template_1.write({fname: source})
            self.env.invalidate_all()
        self.assertIn("Total due", self.template_1.body_html, "nothing was saved")
        self.template_1.subject = "Reminder {{ object.name }}"

    def test_french_user(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning")._update_translations(["fr_FR"])
        self.billing_user.lang = "fr_FR"
        env = self.env(user=self.billing_user, context={"lang": "fr_FR"})
        self.assertEqual(env.ref("kpulse_dunning.kpulse_dunning_menu").name, "Relances")
        self.assertEqual(
            env["kpulse.dunning.level"].search([], limit=3).mapped("name"),
            ["Relance amiable", "Deuxième relance", "Mise en demeure"],
        )
        self.customer.lang = "fr_FR"
        dunning = self._create_dunnings(self._overdue_invoice(20))
        html = (
            env["ir.actions.report"]
            ._render_qweb_html(
                "kpulse_dunning.action_report_dunning_letter", dunning.ids
            )[0]
            .decode()
        )
        text = html2plaintext(html)
        for french in (
            "Relance amiable",
            "Madame, Monsieur,",
            "Total dû",
            "Notre référence",
        ):
            self.assertIn(french, text)

    def test_template_rendering_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning")._update_translations(["fr_FR"])
        self.customer.lang = "fr_FR"
        dunning = self._create_dunnings(self._overdue_invoice(20))
        body = self.template_1._render_field(
            "body_html", dunning.ids, compute_lang=True
        )[dunning.id]
        self.assertIn("Total dû", body)

    @mute_logger("odoo.sql_db")
    def test_views_and_actions_open(self):
        for model in (
            "kpulse.dunning",
            "kpulse.dunning.level",
            "kpulse.dunning.template",
        ):
            views = self.env[model].get_views(
                [(False, "list"), (False, "form"), (False, "search")]
            )
            self.assertEqual(set(views["views"]), {"list", "form", "search"})
        self.env["kpulse.dunning"].get_views([(False, "kanban")])
        for xmlid in (
            "kpulse_dunning.kpulse_dunning_action",
            "kpulse_dunning.kpulse_dunning_level_action",
            "kpulse_dunning.kpulse_dunning_template_action",
            "kpulse_dunning.account_move_action_kpulse_to_dun",
        ):
            action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
            self.env[action["res_model"]].search(
                literal_eval(action.get("domain") or "[]"), limit=1
            )
        for menu in (
            "kpulse_dunning.kpulse_dunning_menu",
            "kpulse_dunning.kpulse_dunning_menu_invoicing",
            "kpulse_dunning.kpulse_dunning_level_menu",
            "kpulse_dunning.kpulse_dunning_template_menu",
        ):
            self.assertTrue(self.env.ref(menu).action)
        Settings = self.env["res.config.settings"].with_user(
            self.env.ref("base.user_admin")
        )
        Settings.create({"kpulse_dunning_grouping": "partner"}).execute()
        self.assertEqual(Settings.env.company.kpulse_dunning_grouping, "partner")
        arch = Settings.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("kpulse_dunning_grouping", arch)
        self.assertIn("Reminder levels", arch)
