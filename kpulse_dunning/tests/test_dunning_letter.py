import io
import subprocess
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import html2plaintext
from odoo.tools.pdf import PdfFileReader

from odoo.addons.base.models import ir_actions_report
from odoo.addons.kpulse_dunning.report import kpulse_dunning_letter

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

    @staticmethod
    def _script_delay(args):
        return args[args.index("--javascript-delay") + 1]

    def test_letter_pdf_does_not_wait_for_scripts(self):
        """wkhtmltopdf waits 1 s after loading a page unless told otherwise
        (report.print_delay): not for the letter, which runs no script."""
        Report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        with self.allow_pdf_render():
            runs = []
            run = ir_actions_report._run_wkhtmltopdf  # as allow_pdf_render set it
            with patch.object(
                ir_actions_report,
                "_run_wkhtmltopdf",
                side_effect=lambda args: runs.append(args) or run(args),
            ):
                letter = Report._render_qweb_pdf(
                    "kpulse_dunning.action_report_dunning_letter", self.dunnings[:1].ids
                )[0]
                Report._render_qweb_pdf(
                    "base.report_ir_model_overview",
                    self.env.ref("base.model_res_partner").ids,
                )
        self.assertTrue(letter.startswith(b"%PDF"))
        self.assertEqual(len(runs), 2)
        self.assertEqual(self._script_delay(runs[0]), "0", "the letter")
        self.assertEqual(self._script_delay(runs[1]), "1000", "another report")

    def test_parallel_letter_runs_do_not_wait_for_scripts(self):
        """The engine's own wkhtmltopdf processes (a chunk of letters each)
        get the same arguments as a letter printed through Odoo."""
        letters = self.env["report.kpulse_dunning.report_dunning_letter"]
        report = self.env.ref("kpulse_dunning.action_report_dunning_letter")
        jobs = [
            {
                "bodies": [f"<html><body><p>Letter {number}</p></body></html>"],
                "specific_paperformat_args": {},
            }
            for number in (1, 2)
        ]
        with patch.object(
            kpulse_dunning_letter.subprocess, "Popen", wraps=subprocess.Popen
        ) as popen:
            pdfs = letters._convert_letters(report, jobs)
        self.assertEqual(popen.call_count, 2)
        for call in popen.call_args_list:
            self.assertEqual(self._script_delay(call.args[0]), "0")
        self.assertEqual(len(pdfs), 2)
        for pdf in pdfs:
            self.assertEqual(PdfFileReader(io.BytesIO(pdf)).getNumPages(), 1)

    def test_print_delay_set_by_administrator_is_kept(self):
        # As a billing user, who may not read system parameters.
        report = (
            self.env.ref("kpulse_dunning.action_report_dunning_letter")
            .with_user(self.billing_user)
            .with_context(kpulse_letter_pdf=True)
        )
        args = report._build_wkhtmltopdf_args(report.get_paperformat(), False)
        self.assertEqual(self._script_delay(args), "0")
        self.env["ir.config_parameter"].sudo().set_param("report.print_delay", "2500")
        args = report._build_wkhtmltopdf_args(report.get_paperformat(), False)
        self.assertEqual(self._script_delay(args), "2500")

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
