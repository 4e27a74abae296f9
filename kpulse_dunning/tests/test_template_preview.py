from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestTemplatePreview(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        company.company_registry = "123 456 789 RCS Lyon"
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
        self.assertEqual(dunning.customer_contact_name, "Claire Dupont")
        self.assertIn("12 rue des Lilas", dunning.customer_address)
        self.assertIn("123 456 789 RCS Lyon", dunning.company_legal_info)
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

        # Without a reminder: rendered for an overdue invoice, nothing saved.
        other = self._overdue_invoice(15, 654.0, partner=self.customer_2)
        count = self.env["kpulse.dunning"].search_count([])
        preview.dunning_id = self.env["kpulse.dunning"]
        preview.move_id = other
        self.assertIn(other.name, preview.body_html)
        self.assertIn("654.00", preview.body_html)
        self.assertIn("Atelier Martin", preview.body_html)
        self.assertEqual(self.env["kpulse.dunning"].search_count([]), count)

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
        self.assertIn("Total dû", preview.body_html)
        preview.lang = "en_US"
        self.assertIn("Dear Sir or Madam", preview.letter_html)

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_validation_without_any_reminder(self):
        """With no reminder yet, templates are tried on an in-memory one."""
        self.assertFalse(self.env["kpulse.dunning"].search_count([]))
        with self.assertRaisesRegex(ValidationError, "no_such_field"):
            self.template_1.body_html = "<p><t t-out='object.no_such_field'/></p>"
