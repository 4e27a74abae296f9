from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningSend(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        # Mail is switched off by the accounting test base: switch it back on.
        return {}

    def _mail_of(self, dunning):
        return self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id == dunning.id
        )

    def test_send_by_email(self):
        invoices = self._overdue_invoice(10, 400.0) | self._overdue_invoice(25, 600.0)
        dunning = self._create_dunnings(invoices, grouping="partner")
        with self.mock_mail_gateway(), self.allow_pdf_render():
            result = dunning.with_context(force_report_rendering=True).action_send()
        self.assertEqual(result["params"]["type"], "success")
        self.assertIn("1 reminder(s) sent.", result["params"]["message"])
        self.assertEqual(dunning.state, "sent")
        self.assertTrue(dunning.sent_date)
        mail = self._mail_of(dunning)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertEqual(
            mail.subject, f"{self.env.company.name}: payment reminder {dunning.name}"
        )
        self.assertEqual(mail.state, "outgoing", "queued, sent by the mail queue")
        for invoice in invoices:
            self.assertIn(invoice.name, mail.body_html)
        self.assertIn("1,000.00", mail.body_html)
        attachments = mail.attachment_ids
        self.assertEqual(
            sorted(attachments.mapped("name")),
            sorted(
                [dunning.name.replace("/", "_") + ".pdf"]
                + [invoice._get_invoice_report_filename() for invoice in invoices]
            ),
        )
        self.assertEqual(set(attachments.mapped("mimetype")), {"application/pdf"})
        self.assertTrue(all(a.raw.startswith(b"%PDF") for a in attachments))
        # Chatter of the reminder and of each invoice.
        self.assertIn(mail.mail_message_id, dunning.message_ids)
        for invoice in invoices:
            self.assertTrue(
                invoice.message_ids.filtered(lambda m, d=dunning: d.name in m.body),
                "the invoice chatter records the reminder",
            )
            self.assertEqual(invoice.kpulse_dunning_level_id, self.level_1)
            self.assertEqual(invoice.kpulse_last_dunning_date, TODAY)

    def test_attachments_of_a_batch_created_at_once(self):
        """Each reminder's e-mail carries its own letter and invoice; the
        files of the whole batch are created in one call."""
        invoices = [self._overdue_invoice(10 + days) for days in range(3)]
        dunnings = self.env["kpulse.dunning"].union(
            *(self._create_dunnings(invoice) for invoice in invoices)
        )
        Attachment = self.registry["ir.attachment"]
        create = Attachment.create
        batches = []

        def recording_create(records, vals_list):
            # Also called with one dict, by the report's assets.
            values = [vals_list] if isinstance(vals_list, dict) else vals_list
            if any(vals.get("res_model") == "kpulse.dunning" for vals in values):
                batches.append(len(values))
            return create(records, vals_list)

        with (
            self.mock_mail_gateway(),
            self.allow_pdf_render(),
            patch.object(Attachment, "create", recording_create),
        ):
            dunnings.with_context(force_report_rendering=True).action_send()
        self.assertEqual(batches, [6], "three letters and three invoices at once")
        for dunning, invoice in zip(dunnings, invoices, strict=True):
            attachments = self._mail_of(dunning).attachment_ids
            self.assertEqual(
                sorted(attachments.mapped("name")),
                sorted(
                    [
                        dunning._letter_filename(),
                        invoice._get_invoice_report_filename(),
                    ]
                ),
            )
            self.assertEqual(set(attachments.mapped("res_model")), {"kpulse.dunning"})
            self.assertEqual(set(attachments.mapped("res_id")), {dunning.id})
            self.assertTrue(all(a.raw.startswith(b"%PDF") for a in attachments))

    @mute_logger("odoo.addons.mail.models.mail_render_mixin")
    def test_partial_failure(self):
        self.customer_2.email = False
        good = self._create_dunnings(self._overdue_invoice(10))
        no_email = self._create_dunnings(
            self._overdue_invoice(10, partner=self.customer_2)
        )
        # Valid at save, but fails on one reminder: its amount due is 777.
        broken_template = self.template_1.sudo().copy(
            {"body_html": "<p><t t-out='1 / (object.amount_residual - 777)'/></p>"}
        )
        broken = self._create_dunnings(
            self._overdue_invoice(12, 777.0), broken_template
        )
        dunnings = good | no_email | broken
        self.template_1.attach_invoice = False
        with self.mock_mail_gateway():
            result = dunnings.action_send()
        self.assertEqual(good.state, "sent")
        self.assertEqual(no_email.state, "failed")
        self.assertIn("has no e-mail address", no_email.failure_reason)
        self.assertEqual(broken.state, "failed")
        self.assertIn("could not be rendered", broken.failure_reason)
        self.assertTrue(self._mail_of(good))
        self.assertFalse(self._mail_of(no_email) | self._mail_of(broken))
        params = result["params"]
        self.assertEqual(params["type"], "warning")
        self.assertIn("1 reminder(s) sent.", params["message"])
        self.assertIn("2 reminder(s) failed", params["message"])
        self.assertIn(no_email.name, params["message"])
        # Nothing is lost: fix the cause, send again.
        self.customer_2.email = "factures@atelier-martin.example.com"
        no_email.partner_invoice_id = self.customer_2
        with self.mock_mail_gateway():
            no_email.action_send()
        self.assertEqual(no_email.state, "sent")
        self.assertFalse(no_email.failure_reason)
        self.assertEqual(self._mail_of(no_email).recipient_ids, self.customer_2)

    def test_invoice_paid_meanwhile(self):
        paid, unpaid = (
            self._overdue_invoice(10, 100.0),
            self._overdue_invoice(20, 200.0),
        )
        dunning = self._create_dunnings(paid | unpaid, grouping="partner")
        self.template_1.attach_invoice = False
        self._pay(paid)
        self.assertEqual(dunning.state, "draft", "one invoice is still due")
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(dunning.move_ids, unpaid)
        self.assertNotIn(paid.name, self._mail_of(dunning).body_html)

    def test_payment_ends_the_chase(self):
        invoice = self._overdue_invoice(30)
        first = self._create_dunnings(invoice)
        self.template_1.attach_invoice = False
        with self.mock_mail_gateway():
            first.action_send()
        second = first._action_escalate()
        self.assertEqual(
            invoice.kpulse_dunning_level_id, self.level_1, "only sent levels count"
        )
        self._pay(invoice, 400.0)
        self.assertEqual(second.state, "draft", "partially paid: still due")
        self._pay(invoice)
        self.assertEqual(second.state, "paid")
        self.assertEqual(first.state, "sent")
        self.assertEqual(invoice.kpulse_dunning_level_id, self.level_1)
        self.assertFalse(invoice.kpulse_can_be_dunned)
