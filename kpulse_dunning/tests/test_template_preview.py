from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import format_amount, format_date, mute_logger

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestTemplatePreview(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        company.company_registry = "123 456 789 RCS Lyon"
        company.kpulse_legal_form = "SAS au capital de 10 000 €"
        cls.env["res.partner.bank"].create(
            {
                "partner_id": company.partner_id.id,
                "acc_number": "FR76 3000 6000 0112 3456 7890 189",
                "allow_out_payment": True,
            }
        )
        cls.contact = cls.env["res.partner"].create(
            {
                "name": "Claire Dupont",
                "type": "invoice",
                "parent_id": cls.customer.id,
                "email": "claire@brasserie-dupont.example.com",
            }
        )

    def test_dynamic_fields(self):
        invoice = self._overdue_invoice(30, 500.0)
        first = self._create_dunnings(invoice)
        first.write({"state": "sent", "sent_date": "2026-06-01 10:00:00"})
        dunning = first._action_escalate()
        self.assertEqual(dunning.partner_invoice_id, self.contact)
        self.assertEqual(dunning.customer_name, "Brasserie Dupont")
        self.customer.company_registry = "552 100 554"
        self.assertEqual(dunning.customer_registry, "552 100 554")
        self.assertEqual(dunning.customer_contact_name, "Claire Dupont")
        self.assertIn("12 rue des Lilas", dunning.customer_address)
        self.assertIn("123 456 789 RCS Lyon", dunning.company_legal_info)
        self.assertIn(
            f"{self.env.company.name} SAS au capital de 10 000 €",
            dunning.company_legal_info,
        )
        self.assertEqual(dunning.company_iban, "FR76 3000 6000 0112 3456 7890 189")
        self.assertEqual(dunning.level_name, "Second reminder")
        self.assertEqual(dunning.today, TODAY)
        self.assertEqual(dunning.payment_deadline, fields.Date.to_date("2026-06-23"))
        self.assertEqual(dunning.previous_dates, "06/01/2026")
        self.assertIn(f"/my/invoices/{invoice.id}", dunning.portal_url)
        self.assertEqual(
            dunning.amount_claimed,
            dunning.amount_residual + dunning.penalty_total + dunning.indemnity_total,
        )
        # The values render in a template.
        self.template_2.subject = (
            "{{ object.level_name }} – pay by {{ object.payment_deadline }}"
        )
        subject = self.template_2._render_field("subject", dunning.ids)[dunning.id]
        self.assertEqual(subject, "Second reminder – pay by 2026-06-23")

    def test_dynamic_fields_offered_by_the_editor(self):
        """The placeholder helper lists searchable fields only: each dynamic
        field must be searchable, and the searches must work or explain."""
        Dunning = self.env["kpulse.dunning"]
        dynamic = [
            "customer_name", "customer_contact_name", "customer_address",
            "customer_vat", "customer_registry", "customer_ref", "company_name",
            "company_legal_info", "company_address", "company_iban", "company_bic",
            "signatory_name", "signatory_function", "level_name", "today",
            "payment_deadline", "previous_dates", "portal_url", "amount_residual",
            "penalty_total", "indemnity_total", "amount_claimed",
        ]  # fmt: skip
        described = Dunning.fields_get(dynamic, ["searchable"])
        self.assertEqual(
            [name for name in dynamic if not described[name]["searchable"]], []
        )
        dunning = self._create_dunnings(self._overdue_invoice(30, 500.0))
        other = self._create_dunnings(
            self._overdue_invoice(30, 200.0, partner=self.customer_2)
        )
        self.assertEqual(
            Dunning.search([("customer_address", "ilike", "Lilas")]), dunning
        )
        self.assertEqual(
            Dunning.search([("customer_contact_name", "ilike", "Claire")]), dunning
        )
        self.assertIn(
            other, Dunning.search([("customer_address", "not ilike", "Lilas")])
        )
        self.assertNotIn(
            dunning, Dunning.search([("customer_address", "not ilike", "Lilas")])
        )
        self.assertEqual(
            Dunning.search([("company_iban", "ilike", "FR76 3000")]), dunning | other
        )
        self.assertEqual(
            Dunning.search([("company_legal_info", "ilike", "capital")]),
            dunning | other,
        )
        self.assertEqual(
            Dunning.search([("amount_claimed", ">", dunning.amount_residual)]),
            dunning,
            "penalties apply to the 30-day-late invoice of a business customer",
        )
        with self.assertRaisesRegex(UserError, "cannot be used in a filter"):
            Dunning.search([("payment_deadline", "<", TODAY)])

    def test_restricted_author_uses_dynamic_fields(self):
        """Odoo restricts template editing to Mail Template Editors by
        default; a billing admin outside that group still writes templates
        with the dynamic fields, and dates and amounts render formatted."""
        admin = new_test_user(
            self.env,
            login="kpulse_billing_admin",
            groups="account.group_account_manager",
            company_id=self.env.company.id,
        )
        self.assertFalse(admin.has_group("mail.group_mail_template_editor"))
        template = (
            self.env["kpulse.dunning.template"]
            .with_user(admin)
            .create(
                {
                    "name": "Written by a billing admin",
                    "level_id": self.template_1.level_id.id,
                    "subject": "For {{object.customer_contact_name}}",
                    "letter_html": "<p>Pay <t t-out="
                    '"format_amount(object.amount_claimed, object.currency_id)"/>'
                    ' by <t t-out="format_date(object.payment_deadline)"/>.</p>',
                }
            )
        )
        dunning = self._create_dunnings(self._overdue_invoice(30, 500.0))
        letter = template._render_field("letter_html", dunning.ids)[dunning.id]
        claimed = format_amount(self.env, dunning.amount_claimed, dunning.currency_id)
        deadline = format_date(self.env, dunning.payment_deadline)
        self.assertEqual(str(letter), f"<p>Pay {claimed} by {deadline}.</p>")
        subject = template._render_field("subject", dunning.ids)[dunning.id]
        self.assertEqual(subject, "For Claire Dupont")
        # Other expressions stay reserved to Mail Template Editors.
        with self.assertRaises(AccessError):
            template.letter_html = (
                '<p t-out="object.partner_id.property_account_receivable_id.code"/>'
            )

    def test_preview_on_reminder_and_invoice(self):
        invoice = self._overdue_invoice(20, 321.0)
        dunning = self._create_dunnings(invoice)
        preview = Form(
            self.env["kpulse.dunning.template.preview"].with_context(
                default_template_id=self.template_1.id
            )
        )
        self.assertEqual(preview.dunning_id, dunning, "a reminder of the template")
        self.assertIn(dunning.name, preview.subject)
        self.assertIn(invoice.name, preview.body_html)
        self.assertIn("Dear Sir or Madam", preview.letter_html)
        # The whole letter, as printed: letterhead, address, invoices, total.
        self.assertIn("Claire Dupont", preview.letter_html)
        self.assertIn("Our reference:", preview.letter_html)
        self.assertIn(invoice.name, preview.letter_html)
        self.assertIn("Total due", preview.letter_html)

        # Without a reminder: rendered for an overdue invoice, nothing saved.
        other = self._overdue_invoice(15, 654.0, partner=self.customer_2)
        count = self.env["kpulse.dunning"].search_count([])
        preview.dunning_id = self.env["kpulse.dunning"]
        preview.move_id = other
        next_name = self.env["kpulse.dunning"]._next_name_preview(self.env.company)
        self.assertRegex(next_name, r"^REM/\d{4}/\d{5}$")
        self.assertIn(next_name, preview.letter_html)
        self.assertIn(other.name, preview.body_html)
        self.assertIn("654.00", preview.body_html)
        self.assertIn("Atelier Martin", preview.body_html)
        self.assertIn(other.name, preview.letter_html)
        self.assertIn("654.00", preview.letter_html)
        self.assertEqual(self.env["kpulse.dunning"].search_count([]), count)
        # Previewing draws no reference.
        self.assertEqual(
            self.env["kpulse.dunning"]._next_name_preview(self.env.company), next_name
        )
        self.assertEqual(self._create_dunnings(other).name, next_name)

    def test_preview_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning")._update_translations(["fr_FR"])
        dunning = self._create_dunnings(self._overdue_invoice(20))
        preview = self.env["kpulse.dunning.template.preview"].create(
            {
                "template_id": self.template_1.id,
                "dunning_id": dunning.id,
                "lang": "fr_FR",
            }
        )
        self.assertIn("Madame, Monsieur", preview.letter_html)
        self.assertIn("Notre référence", preview.letter_html)
        self.assertIn("Total dû", preview.body_html)
        preview.lang = "en_US"
        self.assertIn("Dear Sir or Madam", preview.letter_html)

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_validation_without_any_reminder(self):
        """With no reminder yet, templates are tried on an in-memory one."""
        self.assertFalse(self.env["kpulse.dunning"].search_count([]))
        with self.assertRaisesRegex(ValidationError, "no_such_field"):
            self.template_1.body_html = "<p><t t-out='object.no_such_field'/></p>"
