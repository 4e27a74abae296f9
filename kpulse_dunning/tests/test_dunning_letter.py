import io

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import html2plaintext
from odoo.tools.pdf import PdfFileReader

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningLetter(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls._overdue_invoice(30, 1234.5)
        cls.invoice_2 = cls._overdue_invoice(50, 99.0, partner=cls.customer_2)
        cls.dunnings = cls._create_dunnings(cls.invoice | cls.invoice_2)

    def test_letter_text(self):
        html = self.env["ir.actions.report"]._render_qweb_html(
            "kpulse_dunning.action_report_dunning_letter", self.dunnings.ids
        )[0]
        text = html2plaintext(html.decode())
        self.assertIn(self.env.company.name, text)
        self.assertIn("Brasserie Dupont", text)
        self.assertIn("12 rue des Lilas", text)
        self.assertIn("Atelier Martin", text)
        self.assertIn("First reminder", text)
        self.assertIn("are still unpaid", text, "the template's letter content")
        self.assertIn(self.invoice.name, text)
        self.assertIn(self.invoice_2.name, text)
        self.assertIn("1,234.50", text)
        self.assertIn("Total due", text)
        self.assertIn("06/15/2026", text, "place and date")
        self.assertEqual(text.count("Our reference:"), 2)

    def test_letters_as_real_pdf(self):
        with self.allow_pdf_render():
            pdfs = self.dunnings.with_context(
                force_report_rendering=True
            )._render_letter_pdfs()
            merged = (
                self.env["ir.actions.report"]
                .with_context(force_report_rendering=True)
                ._render_qweb_pdf(
                    "kpulse_dunning.action_report_dunning_letter", self.dunnings.ids
                )[0]
            )
        self.assertEqual(set(pdfs), set(self.dunnings.ids))
        for pdf in pdfs.values():
            self.assertTrue(pdf.startswith(b"%PDF"))
            self.assertEqual(PdfFileReader(io.BytesIO(pdf)).getNumPages(), 1)
        self.assertTrue(merged.startswith(b"%PDF"))
        self.assertEqual(PdfFileReader(io.BytesIO(merged)).getNumPages(), 2)

    def test_long_letter_is_split_on_its_reference(self):
        invoices = self.env["account.move"].union(
            *(self._overdue_invoice(20 + index, 10.0 + index) for index in range(45))
        )
        long_letter = self._create_dunnings(invoices, grouping="partner")
        dunnings = long_letter | self.dunnings
        with self.allow_pdf_render():
            pdfs = dunnings.with_context(
                force_report_rendering=True
            )._render_letter_pdfs()
        pages = {
            dunning: PdfFileReader(io.BytesIO(pdfs[dunning.id])).getNumPages()
            for dunning in dunnings
        }
        self.assertGreater(pages[long_letter], 1)
        self.assertEqual([pages[d] for d in self.dunnings], [1, 1])
        for dunning in dunnings:
            first_page = PdfFileReader(io.BytesIO(pdfs[dunning.id])).getPage(0)
            links = [a.getObject()["/A"]["/URI"] for a in first_page["/Annots"]]
            self.assertIn(dunning._letter_portal_url(), links)

    def test_print_action(self):
        action = self.dunnings.action_print()
        self.assertEqual(action["report_name"], "kpulse_dunning.report_dunning_letter")
        self.assertEqual(action["context"]["active_ids"], self.dunnings.ids)

    def test_formal_notice_60_days_late(self):
        """The default formal notice of a company customer 60 days late."""
        invoice = self._overdue_invoice(60, 1000.0)
        notice = self._create_dunnings(invoice, self.template_3)
        line = notice.line_ids
        # 1000.00 × (2.15 + 10) % × 60 / 365 = 19.97; indemnity 40.00
        self.assertEqual(line.days_overdue, 60)
        self.assertAlmostEqual(line.penalty_amount, 19.97)
        self.assertAlmostEqual(line.indemnity_amount, 40.0)
        self.assertAlmostEqual(notice.amount_claimed, 1059.97)
        html = self.env["ir.actions.report"]._render_qweb_html(
            "kpulse_dunning.action_report_dunning_letter", notice.ids
        )[0]
        text = html2plaintext(html.decode())
        for expected in (
            "Formal notice",
            "Registered letter with acknowledgement of receipt",
            "article 1344 of the French Civil Code",
            "injonction de payer",
            "article L441-10",
            "19.97",
            "40.00",
            "1,059.97",
            "06/23/2026",
        ):
            self.assertIn(expected, text)
        body = self.template_3._render_field("body_html", notice.ids)[notice.id]
        self.assertIn("1,059.97", body)
        self.assertIn("formal notice", body)
        # Created directly at this level: no earlier reminder to refer to.
        self.assertIn("The invoices listed below remain unpaid.", text)
        self.assertIn("The following invoices remain unpaid.", body)
        self.assertNotIn("Despite", text + body)

    def test_letters_refer_to_earlier_reminders(self):
        first = self._create_dunnings(self._overdue_invoice(60, 1000.0))
        first.write({"state": "sent", "sent_date": "2026-06-01 10:00:00"})
        second = first._action_escalate()
        second.write({"state": "sent", "sent_date": "2026-06-08 10:00:00"})
        notice = second._action_escalate()
        for dunning, expected in (
            (second, "Despite our reminder of 06/01/2026, the"),
            (notice, "Despite our reminders of 06/01/2026, 06/08/2026, the"),
        ):
            html = self.env["ir.actions.report"]._render_qweb_html(
                "kpulse_dunning.action_report_dunning_letter", dunning.ids
            )[0]
            self.assertIn(expected, html2plaintext(html.decode()))
            body = dunning.template_id._render_field("body_html", dunning.ids)
            self.assertIn(expected, body[dunning.id])
