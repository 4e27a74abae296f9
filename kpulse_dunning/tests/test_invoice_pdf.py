import io
import shutil
import subprocess
from contextlib import contextmanager
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.pdf import PdfFileReader

from odoo.addons.mail.tests.common import MailCommon

from ..report import kpulse_dunning_letter, kpulse_invoice_pdf
from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestInvoicePdf(KpulseDunningCommon, MailCommon):
    """The invoices a reminder attaches: stored PDFs reused, the missing ones
    rendered many to one wkhtmltopdf run and stored as Odoo's sending
    stores them."""

    @classmethod
    def default_env_context(cls):
        # Mail is switched off by the accounting test base: switch it back on.
        return {}

    @contextmanager
    def _invoice_runs(self):
        """Count the wkhtmltopdf runs that convert invoices, whoever starts
        them (Odoo's report engine, or the engine's parallel processes)."""
        runs = []

        def record(args):
            documents = [arg for arg in args if str(arg).endswith(".html")]
            for path in documents:
                with open(path, encoding="utf-8") as document:
                    if 'data-oe-model="account.move"' in document.read():
                        runs.append(args)
                        return

        popen = subprocess.Popen
        # Odoo runs wkhtmltopdf with subprocess.run, which opens a Popen.
        with patch.object(
            kpulse_dunning_letter.subprocess,
            "Popen",
            side_effect=lambda args, **kw: record(args) or popen(args, **kw),
        ):
            yield runs

    def _mail_of(self, dunning):
        return self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id == dunning.id
        )

    def _stored_pdfs(self, invoice):
        # The attachments behind the invoice's PDF field, as Odoo finds them.
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", "account.move"),
                ("res_id", "=", invoice.id),
                ("res_field", "=", "invoice_pdf_report_file"),
            ]
        )

    @staticmethod
    def _pages(pdf):
        return PdfFileReader(io.BytesIO(pdf)).getNumPages()

    def test_pdf_stored_on_first_send_and_reused(self):
        invoice = self._overdue_invoice(10, 400.0)
        self.assertFalse(invoice.invoice_pdf_report_id)
        dunning = self._create_dunnings(invoice)
        with (
            self.mock_mail_gateway(),
            self.allow_pdf_render(),
            self._invoice_runs() as runs,
        ):
            dunning.with_context(force_report_rendering=True).action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(len(runs), 1, "the invoice is rendered once")
        stored = invoice.invoice_pdf_report_id
        self.assertTrue(stored, "stored as Odoo's sending stores it")
        self.assertEqual(stored.name, invoice._get_invoice_report_filename())
        self.assertEqual(stored.mimetype, "application/pdf")
        self.assertEqual(stored.res_field, "invoice_pdf_report_file")
        self.assertTrue(stored.raw.startswith(b"%PDF"))
        self.assertEqual(self._pages(stored.raw), 1)
        self.assertTrue(invoice.is_move_sent)
        sent = self._mail_of(dunning).attachment_ids.filtered(
            lambda a: a.name == stored.name
        )
        self.assertEqual(sent.raw, stored.raw)

        # The next reminder of the same invoice attaches the stored PDF.
        dunning.write({"sent_date": "2026-06-15 09:00:00"})
        second = dunning._action_escalate()
        self.assertTrue(second.template_id.attach_invoice)
        with (
            self.mock_mail_gateway(),
            self.allow_pdf_render(),
            self._invoice_runs() as runs,
        ):
            second.with_context(force_report_rendering=True).action_send()
        self.assertEqual(second.state, "sent")
        self.assertFalse(runs, "not rendered again")
        self.assertEqual(invoice.invoice_pdf_report_id, stored)
        self.assertEqual(self._stored_pdfs(invoice), stored, "stored once")
        sent = self._mail_of(second).attachment_ids.filtered(
            lambda a: a.name == stored.name
        )
        self.assertEqual(sent.raw, stored.raw)

    def test_several_invoices_in_one_run(self):
        """One wkhtmltopdf run for the invoices of a batch, cut back per
        invoice at its first page; the cutting marks are gone."""
        short = self._overdue_invoice(10, 100.0)
        long = self._create_invoice(
            move_type="out_invoice",
            partner_id=self.customer_2.id,
            invoice_date=TODAY,
            invoice_line_ids=[
                Command.create(
                    {"name": f"Item {index}", "price_unit": 10.0, "tax_ids": []}
                )
                for index in range(60)
            ],
            post=True,
        )
        other = self._overdue_invoice(20, 300.0)
        invoices = short | long | other
        with self.allow_pdf_render(), self._invoice_runs() as runs:
            pdfs = (
                self.env["kpulse.dunning.invoice.pdf"]
                .with_context(force_report_rendering=True)
                ._invoice_pdfs(invoices)
            )
        self.assertEqual(len(runs), 1)
        self.assertEqual(set(pdfs), set(invoices))
        pages = {invoice: self._pages(pdfs[invoice][1]) for invoice in invoices}
        self.assertEqual(pages[short], 1)
        self.assertGreater(pages[long], 1)
        self.assertEqual(pages[other], 1)
        for invoice in invoices:
            name, pdf = pdfs[invoice]
            self.assertEqual(name, invoice._get_invoice_report_filename())
            self.assertEqual(invoice.invoice_pdf_report_id.raw, pdf)
            reader = PdfFileReader(io.BytesIO(pdf))
            for number in range(reader.getNumPages()):
                annotations = reader.getPage(number).get("/Annots")
                uris = [
                    annotation.getObject().get("/A", {}).get("/URI") or ""
                    for annotation in (annotations.getObject() if annotations else [])
                ]
                self.assertFalse(
                    [uri for uri in uris if "kpulse-split.invalid" in uri],
                    "the cutting marks are removed",
                )

    def test_each_invoice_pdf_holds_its_own_invoice(self):
        """The text of each part is its invoice's. The report CSS is not
        served here, so that the text is drawn with a system font and can be
        read back (a web font is drawn as paths)."""
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext (poppler-utils) is not installed")
        self.env["ir.config_parameter"].sudo().set_param(
            "report.url", "http://127.0.0.1:9"
        )
        invoices = self.env["account.move"].union(
            *(self._overdue_invoice(10 + index, 100.0 + index) for index in range(3))
        )
        with self.allow_pdf_render(), self._invoice_runs() as runs:
            pdfs = (
                self.env["kpulse.dunning.invoice.pdf"]
                .with_context(force_report_rendering=True)
                ._invoice_pdfs(invoices)
            )
        self.assertEqual(len(runs), 1)
        for invoice in invoices:
            text = subprocess.run(
                ["pdftotext", "-", "-"],  # noqa: S607 (a test helper)
                input=pdfs[invoice][1],
                capture_output=True,
                check=True,
            ).stdout.decode()
            self.assertIn(invoice.name, text)
            for other in invoices - invoice:
                self.assertNotIn(other.name, text)

    def test_invoice_sent_by_odoo_is_reused(self):
        invoice = self._overdue_invoice(10)
        with self.allow_pdf_render():
            self.env["account.move.send"].with_context(
                force_report_rendering=True
            )._generate_and_send_invoices(invoice, sending_methods={"manual"})
        stored = invoice.invoice_pdf_report_id
        self.assertTrue(stored)
        with self._invoice_runs() as runs:
            pdfs = (
                self.env["kpulse.dunning.invoice.pdf"]
                .with_context(force_report_rendering=True)
                ._invoice_pdfs(invoice)
            )
        self.assertFalse(runs)
        self.assertEqual(pdfs[invoice], (stored.name, stored.raw))

    def test_odoo_send_reuses_the_stored_pdf(self):
        """Odoo's own Send attaches what a reminder stored."""
        invoices = self._overdue_invoice(10) | self._overdue_invoice(11)
        with self.allow_pdf_render():
            self.env["kpulse.dunning.invoice.pdf"].with_context(
                force_report_rendering=True
            )._invoice_pdfs(invoices)
        stored = invoices.invoice_pdf_report_id
        self.assertEqual(len(stored), 2)
        with self.allow_pdf_render(), self._invoice_runs() as runs:
            self.env["account.move.send"].with_context(
                force_report_rendering=True
            )._generate_and_send_invoices(invoices, sending_methods={"manual"})
        self.assertFalse(runs)
        self.assertEqual(invoices.invoice_pdf_report_id, stored)
        for invoice in invoices:
            self.assertEqual(len(self._stored_pdfs(invoice)), 1)

    def test_invoices_not_split_are_rendered_one_by_one(self):
        invoices = self._overdue_invoice(10) | self._overdue_invoice(11)
        Pdf = self.env["kpulse.dunning.invoice.pdf"]
        with (
            self.allow_pdf_render(),
            self._invoice_runs() as runs,
            patch.object(type(Pdf), "_split_invoices_pdf", return_value=None),
        ):
            pdfs = Pdf.with_context(force_report_rendering=True)._invoice_pdfs(invoices)
        self.assertEqual(len(runs), 3, "the batch, then each invoice")
        for invoice in invoices:
            self.assertEqual(self._pages(pdfs[invoice][1]), 1)
            self.assertEqual(invoice.invoice_pdf_report_id.raw, pdfs[invoice][1])

    def test_draft_invoice_is_printed_not_stored(self):
        """Odoo's sending stores the PDF of posted invoices only."""
        draft = self._overdue_invoice(10, post=False)
        posted = self._overdue_invoice(11)
        pdfs = self.env["kpulse.dunning.invoice.pdf"]._invoice_pdfs(draft | posted)
        self.assertEqual(set(pdfs), {draft, posted})
        self.assertTrue(pdfs[draft][1])
        self.assertFalse(draft.invoice_pdf_report_id)
        self.assertFalse(draft.is_move_sent)
        self.assertTrue(posted.invoice_pdf_report_id)

    def test_rolled_back_batch_stores_nothing(self):
        invoice = self._overdue_invoice(10)
        Pdf = self.env["kpulse.dunning.invoice.pdf"]
        with self.env.cr.savepoint() as savepoint:
            Pdf._invoice_pdfs(invoice)
            self.assertTrue(invoice.invoice_pdf_report_id)
            savepoint.rollback()
        self.env.invalidate_all()
        self.assertFalse(invoice.invoice_pdf_report_id)
        self.assertFalse(invoice.is_move_sent)

    def test_marker_is_invisible_link(self):
        marker = self.env["kpulse.dunning.invoice.pdf"]._split_marker(7)
        self.assertEqual(
            marker.get("href"), kpulse_invoice_pdf.SPLIT_MARKER_URL.format(7)
        )
        self.assertIn("color: transparent", marker.get("style"))

    def test_invoice_render_error_fails_the_batch_with_its_reason(self):
        """An invoice that cannot be rendered fails the reminders of its
        batch with the reason, as a letter would; nothing is raised and
        nothing is e-mailed."""
        dunnings = self._create_dunnings(
            self._overdue_invoice(10) | self._overdue_invoice(11)
        )
        InvoicePdf = self.registry["kpulse.dunning.invoice.pdf"]
        with (
            self.mock_mail_gateway(),
            patch.object(
                InvoicePdf,
                "_invoice_pdfs",
                side_effect=UserError("The invoice report cannot be printed."),
            ),
        ):
            outcome = self.env["kpulse.dunning.send"]._send(dunnings)
        self.assertFalse(outcome["sent"])
        self.assertEqual(set(dunnings.mapped("state")), {"failed"})
        self.assertEqual(
            set(dunnings.mapped("failure_reason")),
            {"The invoice report cannot be printed."},
        )
        self.assertFalse(self._new_mails)
