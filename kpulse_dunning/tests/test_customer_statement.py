import io
import shutil
import subprocess
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL, config, html2plaintext
from odoo.tools.pdf import PdfFileReader

from odoo.addons.base.models import ir_actions_report
from odoo.addons.kpulse_dunning.report.kpulse_customer_statement import (
    AGING_BUCKETS,
    STATEMENT_REPORT,
    aging_bucket,
    aging_bucket_sql,
)
from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

STATEMENT_MODEL = "report.kpulse_dunning.report_customer_statement"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestCustomerStatement(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        # Mail is switched off by the accounting test base: switch it back on.
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id
        # 1 unit of the company's currency = 0.5 CHF: 123.45 CHF = 246.90.
        cls.chf = cls.setup_other_currency("CHF", rates=[("2020-01-01", 0.5)])
        invoice = cls._overdue_invoice
        cls.invoices = {
            "due_in_10_days": invoice(-10, 100.10),
            "due_today": invoice(0, 200.20),
            "late_1": invoice(1, 10.01),
            "late_30": invoice(30, 20.02),
            "late_31": invoice(31, 31.31),
            "late_60": invoice(60, 60.60),
            "late_61": invoice(61, 61.61),
            "late_90": invoice(90, 90.09),
            "late_91": invoice(91, 91.19),
            "partly_paid_45": invoice(45, 300.00),
            "chf_70": invoice(70, 123.45, currency_id=cls.chf.id),
        }
        cls.refund = invoice(15, 50.05, move_type="out_refund")
        cls._pay(cls.invoices["partly_paid_45"], 99.99)
        # Neither paid nor draft invoices, nor other customers', are open items.
        cls.paid = invoice(40, 77.77)
        cls._pay(cls.paid)
        cls.draft = invoice(40, 88.88, post=False)
        cls.other = invoice(10, 500.00, partner=cls.customer_2)
        cls.Statement = cls.env[STATEMENT_MODEL]

    # === BUCKETS === #

    def test_bucket_edges(self):
        expected = {
            0: "not_due",
            1: "1_30",
            30: "1_30",
            31: "31_60",
            60: "31_60",
            61: "61_90",
            90: "61_90",
            91: "over_90",
            1000: "over_90",
        }
        for days, bucket in expected.items():
            self.assertEqual(aging_bucket(days), bucket, days)
        # The same rule in SQL, for reports grouped by the database.
        rows = self.env.execute_query(
            SQL(
                "SELECT days, %s FROM unnest(%s::int[]) AS days",
                aging_bucket_sql(SQL("days")),
                list(expected),
            )
        )
        self.assertEqual(dict(rows), expected)
        labels = self.Statement._aging_bucket_labels()
        self.assertEqual(list(labels), [key for key, _last in AGING_BUCKETS])

    def test_statement_buckets_to_the_cent(self):
        statement = self.Statement._statements(self.customer)[self.customer.id]
        items = statement["items"]
        self.assertEqual(
            {item["move"] for item in items},
            set(self.invoices.values()) | {self.refund},
        )
        by_move = {item["move"]: item for item in items}
        for key, days in (
            ("due_in_10_days", 0),
            ("due_today", 0),
            ("late_1", 1),
            ("late_30", 30),
            ("late_31", 31),
            ("late_60", 60),
            ("late_61", 61),
            ("late_90", 90),
            ("late_91", 91),
        ):
            self.assertEqual(by_move[self.invoices[key]]["days_late"], days, key)
        refund = by_move[self.refund]
        self.assertTrue(refund["is_refund"])
        self.assertEqual(refund["amount"], -50.05)
        self.assertEqual(by_move[self.invoices["partly_paid_45"]]["amount"], 200.01)
        chf_item = by_move[self.invoices["chf_70"]]
        self.assertEqual(chf_item["currency"], self.chf)
        self.assertEqual(chf_item["amount_currency"], 123.45)
        self.assertEqual(chf_item["amount"], 246.90)
        self.assertEqual(
            [item["date_due"] for item in items],
            sorted(item["date_due"] for item in items),
            "oldest due first",
        )
        # In the company's currency, the CHF invoice converted.
        self.assertEqual(
            statement["totals"],
            {
                "not_due": 300.30,  # 100.10 + 200.20
                "1_30": -20.02,  # 10.01 + 20.02 - 50.05 (credit note)
                "31_60": 291.92,  # 31.31 + 60.60 + 200.01 (300.00 - 99.99)
                "61_90": 398.60,  # 61.61 + 90.09 + 246.90 (123.45 CHF)
                "over_90": 91.19,
                "total": 1061.99,
            },
        )
        self.assertTrue(statement["foreign"])
        per_currency = {
            line["currency"]: line["totals"] for line in statement["currency_totals"]
        }
        self.assertEqual(set(per_currency), {self.currency, self.chf})
        self.assertEqual(
            per_currency[self.currency],
            {
                "not_due": 300.30,
                "1_30": -20.02,
                "31_60": 291.92,
                "61_90": 151.70,
                "over_90": 91.19,
                "total": 815.09,
            },
        )
        self.assertEqual(
            per_currency[self.chf],
            {
                "not_due": 0.0,
                "1_30": 0.0,
                "31_60": 0.0,
                "61_90": 123.45,
                "over_90": 0.0,
                "total": 123.45,
            },
        )

    def test_statement_on_an_earlier_date(self):
        """On an earlier date, the items are aged on that date and invoices
        issued after it are left out."""
        earlier = TODAY - timedelta(days=31)
        statement = self.Statement._statements(self.customer, date=earlier)[
            self.customer.id
        ]
        by_move = {item["move"]: item for item in statement["items"]}
        self.assertNotIn(self.invoices["due_in_10_days"], by_move, "issued later")
        self.assertEqual(by_move[self.invoices["late_91"]]["days_late"], 60)
        self.assertEqual(by_move[self.invoices["late_91"]]["bucket"], "31_60")
        self.assertEqual(by_move[self.invoices["late_31"]]["bucket"], "not_due")

    def test_one_search_for_all_customers(self):
        def queries(partners):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            self.Statement._statements(partners)
            return self.cr.sql_log_count - before

        queries(self.customer | self.customer_2)  # caches of the first call
        one = queries(self.customer)
        both = queries(self.customer | self.customer_2)
        self.assertEqual(both, one, "the same queries for two customers as for one")
        statements = self.Statement._statements(self.customer | self.customer_2)
        self.assertEqual(
            [item["move"] for item in statements[self.customer_2.id]["items"]],
            [self.other],
        )
        self.assertFalse(statements[self.customer_2.id]["foreign"])

    # === PRINTING === #

    def _html_text(self, docids, data=None, user=None):
        Report = self.env["ir.actions.report"]
        if user:
            Report = Report.with_user(user)
        html = Report._render_qweb_html(STATEMENT_REPORT, docids, data=data)[0]
        # Odoo joins a minus sign to its number with a zero-width space.
        return html2plaintext(html.decode()).replace("\ufeff", "")

    def test_print_from_customer(self):
        """A billing user prints a customer's statement (a contact of the
        customer gives the same)."""
        contact = self.env["res.partner"].create(
            {"name": "Paul Dupont", "parent_id": self.customer.id}
        )
        text = self._html_text(contact.ids, user=self.billing_user)
        for expected in (
            "Statement of account",
            self.env.company.name,
            "Brasserie Dupont",
            "12 rue des Lilas",
            self.invoices["late_91"].name,
            self.refund.name,
            "(credit note)",
            "Over 90 days",
            "61–90 days",
            "1,061.99",
            "398.60",
            "-20.02",
            "123.45",
            "Total in company currency",
        ):
            self.assertIn(expected, text)
        self.assertNotIn(self.other.name, text)
        self.assertNotIn(self.paid.name, text)
        self.assertEqual(text.count("Statement of account"), 1)

    def test_statement_follows_access_rules(self):
        """A salesman who sees his own invoices only gets a statement of
        those; a user cannot print statements of a company not his."""
        salesman = new_test_user(
            self.env,
            login="kpulse_statement_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=self.env.company.id,
        )
        self.invoices["late_91"].invoice_user_id = salesman
        text = self._html_text(self.customer.ids, user=salesman)
        self.assertIn(self.invoices["late_91"].name, text)
        self.assertNotIn(self.invoices["late_90"].name, text)
        self.assertIn("91.19", text)
        self.assertNotIn("1,061.99", text)
        other_company = self.env["res.company"].create({"name": "Other Company"})
        with self.assertRaisesRegex(UserError, "cannot print statements"):
            self._html_text(
                None,
                data={"company_id": other_company.id, "partner_ids": self.customer.ids},
                user=self.billing_user,
            )

    def test_print_from_reminder(self):
        dunning = self._create_dunnings(self.other)
        action = dunning.action_print_statement()
        self.assertEqual(
            action["report_name"], "kpulse_dunning.report_customer_statement"
        )
        self.assertEqual(
            action["data"],
            {"company_id": self.env.company.id, "partner_ids": self.customer_2.ids},
        )
        # Printed with options, the report gets no ids but from them.
        text = self._html_text(None, data=action["data"])
        self.assertIn("Atelier Martin", text)
        self.assertIn(self.other.name, text)
        self.assertIn("500.00", text)
        self.assertNotIn(self.invoices["late_91"].name, text)

    def test_real_pdf_is_light_and_searchable(self):
        # wkhtmltopdf loads the report's style sheet from the test server.
        self.env["ir.config_parameter"].set_param(
            "report.url", f"http://127.0.0.1:{config['http_port']}"
        )
        Report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        with self.allow_pdf_render():
            pdf = Report._render_qweb_pdf(STATEMENT_REPORT, self.customer.ids)[0]
            # Several customers: one document, in one wkhtmltopdf run.
            both = Report._render_qweb_pdf(
                STATEMENT_REPORT, (self.customer | self.customer_2).ids
            )[0]
        self.assertEqual(PdfFileReader(io.BytesIO(both)).getNumPages(), 2)
        self.assertTrue(pdf.startswith(b"%PDF"))
        self.assertLess(len(pdf), 150 * 1024, "a system font, not drawn glyphs")
        self.assertEqual(PdfFileReader(io.BytesIO(pdf)).getNumPages(), 1)
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext (poppler-utils) is not installed")
        text = subprocess.run(  # noqa: S603 (fixed binary, our own PDF)
            ["pdftotext", "-layout", "-", "-"],  # noqa: S607
            input=pdf,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.assertIn("Statement of account", text)
        self.assertIn(self.invoices["late_91"].name, text)
        self.assertIn("1,061.99", text)

    # === REMINDERS: ATTACHMENT AND DYNAMIC FIELD === #

    def _mail_of(self, dunning):
        return self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id == dunning.id
        )

    def test_level_attaches_statement(self):
        """The e-mail of each reminder carries its customer's statement: the
        statements of the batch are converted in one wkhtmltopdf run."""
        dunnings = self._create_dunnings(self.invoices["late_30"] | self.other)
        self.template_1.write({"attach_invoice": False, "attach_statement": True})
        runs = []
        with self.mock_mail_gateway(), self.allow_pdf_render():
            run = ir_actions_report._run_wkhtmltopdf  # as allow_pdf_render set it
            with patch.object(
                ir_actions_report,
                "_run_wkhtmltopdf",
                side_effect=lambda args: runs.append(args) or run(args),
            ):
                dunnings.with_context(force_report_rendering=True).action_send()
        self.assertEqual(set(dunnings.mapped("state")), {"sent"})
        self.assertEqual(len(runs), 2, "one run for the letters, one for statements")
        for dunning in dunnings:
            own = dunning.line_ids.move_id
            foreign = (self.invoices["late_30"] | self.other) - own
            attachments = self._mail_of(dunning).attachment_ids
            statement = attachments.filtered(lambda a: a.name.startswith("Statement"))
            self.assertEqual(statement.name, f"Statement {dunning.partner_id.name}.pdf")
            self.assertEqual(len(attachments), 2, "the letter and the statement")
            self.assertTrue(statement.raw.startswith(b"%PDF"))
            reader = PdfFileReader(io.BytesIO(statement.raw))
            self.assertEqual(reader.getNumPages(), 1, "split per customer")
            if shutil.which("pdftotext"):
                text = subprocess.run(  # noqa: S603 (fixed binary, our own PDF)
                    ["pdftotext", "-", "-"],  # noqa: S607
                    input=statement.raw,
                    capture_output=True,
                    check=True,
                ).stdout.decode()
                self.assertIn(own.name, text)
                self.assertNotIn(foreign.name, text)

    def test_no_statement_unless_asked(self):
        dunning = self._create_dunnings(self.other)
        self.template_1.attach_invoice = False
        self.assertFalse(self.template_1.attach_statement, "off by default")
        with (
            self.mock_mail_gateway(),
            patch.object(
                type(self.Statement),
                "_render_statement_pdfs",
                side_effect=AssertionError("no statement rendered"),
            ),
        ):
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(
            self._mail_of(dunning).attachment_ids.mapped("name"),
            [dunning._letter_filename()],
        )

    def test_statement_table_dynamic_field(self):
        """A template author outside "Mail Template Editor" inserts the
        statement like any dynamic field; it renders as a table."""
        self.env["ir.config_parameter"].set_param("mail.restrict.template.rendering", 1)
        author = new_test_user(
            self.env,
            login="kpulse_statement_author",
            groups="account.group_account_manager",
            company_id=self.env.company.id,
        )
        self.assertIn(
            "object.statement_table",
            self.env["kpulse.dunning"].mail_allowed_qweb_expressions(),
        )
        dunning = self._create_dunnings(self.invoices["late_61"])
        template = (
            self.env["kpulse.dunning.template"]
            .with_user(author)
            .create(
                {
                    "name": "With statement",
                    "level_id": self.level_1.id,
                    "subject": "Your account",
                    "body_html": "<p>Your account:</p>"
                    '<t t-out="object.statement_table"/>',
                    "letter_html": '<p><t t-out="object.statement_table"/></p>',
                }
            )
        )
        dunning.template_id = template
        body = template._render_field("body_html", dunning.ids)[dunning.id]
        self.assertIn("<table", body)
        text = html2plaintext(body).replace("\ufeff", "")
        for expected in (
            self.invoices["late_91"].name,
            self.refund.name,
            "Not due",
            "Over 90 days",
            "1,061.99",
        ):
            self.assertIn(expected, text)
        self.assertNotIn(self.other.name, text)
        with self.assertRaisesRegex(UserError, "cannot be used in a filter"):
            self.env["kpulse.dunning"].search([("statement_table", "=", "x")])
        letter = dunning._render_letter_bodies()[dunning.id]
        self.assertIn("Over 90 days", letter)
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertIn("Over 90 days", self._mail_of(dunning).body_html)
