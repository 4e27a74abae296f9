"""Disputes per invoice: excluded from reminders and automatic runs, listed
apart in letters, resumed when resolved."""

import io
from datetime import timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import html2plaintext, mute_logger
from odoo.tools.pdf import PdfFileReader

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

AUTO_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_automatic"
LETTER = "kpulse_dunning.action_report_dunning_letter"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDispute(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.price = cls.env.ref("kpulse_dunning.kpulse_dunning_dispute_reason_price")
        cls.quality = cls.env.ref(
            "kpulse_dunning.kpulse_dunning_dispute_reason_quality"
        )
        cls.invoice = cls._overdue_invoice(10, 500.0)
        cls.other_invoice = cls._overdue_invoice(20, 300.0)

    def _dispute(self, invoices, reason, note="", user=None):
        """Dispute ``invoices`` as the billing user would: the invoice's
        Dispute button, then its dialog."""
        action = invoices.with_user(user or self.billing_user).action_kpulse_dispute()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(user or self.billing_user)
            .with_context(**action["context"])
        )
        wizard.reason_id = reason
        wizard.note = note
        wizard.save().action_confirm()
        return invoices.kpulse_dispute_id

    def _resolve(self, invoices, note=""):
        action = invoices.with_user(self.billing_user).action_kpulse_resolve_dispute()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.billing_user)
            .with_context(**action["context"])
        )
        wizard.resolution_note = note
        wizard.save().action_confirm()

    def test_dispute_excludes_invoice(self):
        Move = self.env["account.move"]
        self.customer.kpulse_reply_pending = True
        self.assertTrue(self.invoice.kpulse_can_be_dunned)
        dispute = self._dispute(self.invoice, self.quality, "Broken bottles")
        self.assertEqual(dispute.state, "open")
        self.assertEqual(dispute.reason_id, self.quality)
        self.assertEqual(dispute.partner_id, self.customer)
        self.assertEqual(dispute.user_id, self.billing_user)
        self.assertFalse(self.customer.kpulse_reply_pending, "the customer was heard")
        self.assertFalse(self.invoice.kpulse_can_be_dunned)
        eligible = Move.search([("kpulse_can_be_dunned", "=", True)])
        self.assertNotIn(self.invoice, eligible)
        self.assertIn(self.other_invoice, eligible)
        self.assertEqual(
            self.invoice._kpulse_refusal_reason(), "under dispute (Quality)"
        )
        self.assertIn("Broken bottles", self.invoice.message_ids[0].body)
        # New reminders: the button and the wizard refuse it, with the reason.
        with self.assertRaisesRegex(UserError, r"under dispute \(Quality\)"):
            (self.invoice | self.other_invoice).action_kpulse_create_dunnings()
        with self.assertRaisesRegex(UserError, r"under dispute \(Quality\)"):
            self._create_dunnings(self.invoice | self.other_invoice)
        # Second click: a message, not a second dispute.
        with self.assertRaisesRegex(UserError, "already under dispute"):
            self.invoice.with_user(self.billing_user).action_kpulse_dispute()
        with self.assertRaisesRegex(UserError, "already under dispute"):
            self.env["kpulse.dunning.dispute"].create(
                {"move_id": self.invoice.id, "reason_id": self.price.id}
            )
        # The database keeps one open dispute per invoice, whatever the code.
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(
                "INSERT INTO kpulse_dunning_dispute "
                "(move_id, reason_id, state, date, company_id) "
                "VALUES (%s, %s, 'open', %s, %s)",
                (self.invoice.id, self.price.id, TODAY, self.invoice.company_id.id),
            )
        self.assertEqual(
            self.env["kpulse.dunning.dispute"].search(
                [("move_id", "=", self.invoice.id)]
            ),
            dispute,
        )
        # The Disputed filter of the invoices.
        self.assertEqual(
            Move.search([("kpulse_dispute_id", "!=", False)]), self.invoice
        )

    def test_refused_invoices(self):
        draft = self._overdue_invoice(10, post=False)
        with self.assertRaisesRegex(UserError, "not posted"):
            draft.action_kpulse_dispute()
        self._pay(self.other_invoice)
        with self.assertRaisesRegex(UserError, "already paid"):
            self.other_invoice.action_kpulse_dispute()
        with self.assertRaisesRegex(UserError, "not under dispute"):
            self.invoice.action_kpulse_resolve_dispute()

    def test_resolve_resumes_chase(self):
        """Disputed: the automatic run leaves the invoice alone; resolved, it
        is eligible again and the next run reminds it."""
        self.level_1.automatic = True
        self.env.company.kpulse_auto_min_gap_days = 10
        self.env.company.kpulse_auto_min_amount = 0.0
        dispute = self._dispute(self.invoice, self.price, "Price agreed was 450")
        self.assertFalse(self.invoice.kpulse_auto_next)
        self.assertTrue(self.other_invoice.kpulse_auto_next)
        Dunning = self.env["kpulse.dunning"]
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
        self.assertFalse(Dunning.search([("move_ids", "in", self.invoice.ids)]))
        self.assertTrue(Dunning.search([("move_ids", "in", self.other_invoice.ids)]))

        self._resolve(self.invoice, "Credit note of 50 agreed")
        self.assertEqual(dispute.state, "resolved")
        self.assertEqual(dispute.resolved_date, TODAY)
        self.assertEqual(dispute.resolution_note, "Credit note of 50 agreed")
        self.assertFalse(self.invoice.kpulse_dispute_id)
        self.assertTrue(self.invoice.kpulse_can_be_dunned)
        self.assertFalse(self.invoice._kpulse_refusal_reason())
        self.assertTrue(self.invoice.kpulse_auto_next)
        self.assertIn("Dispute resolved", self.invoice.message_ids[0].body)
        with self.assertRaisesRegex(UserError, "already resolved"):
            dispute.with_user(self.billing_user).action_resolve()
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
        self.assertEqual(
            Dunning.search([("move_ids", "in", self.invoice.ids)]).level_id,
            self.level_1,
        )
        # A new dispute of the same invoice once the first is resolved.
        second = self._dispute(self.invoice, self.quality)
        self.assertNotEqual(second, dispute)
        self.assertEqual(self.invoice.kpulse_dispute_count, 2)

    def test_dispute_from_reminder_line(self):
        """Disputed from a reminder not sent yet: the invoice leaves it (and
        its total); a reminder left empty is cancelled."""
        dunning = self._create_dunnings(
            self.invoice | self.other_invoice, grouping="partner"
        )
        self.assertEqual(dunning.amount_residual, 800.0)
        line = dunning.line_ids.filtered(lambda line: line.move_id == self.invoice)
        action = line.with_user(self.billing_user).action_kpulse_dispute()
        self.assertEqual(action["context"]["default_move_ids"], self.invoice.ids)
        self._dispute(self.invoice, self.price)
        self.assertEqual(dunning.line_ids.move_id, self.other_invoice)
        self.assertEqual(dunning.amount_residual, 300.0)
        self.assertEqual(dunning.state, "draft")
        self.assertIn("under dispute", dunning.message_ids[0].body)
        self._dispute(self.other_invoice, self.quality)
        self.assertEqual(dunning.state, "cancel")
        self.assertIn("cancelled", dunning.message_ids[0].body)

    def test_reset_to_draft_leaves_disputed_out(self):
        """A reminder cancelled before the dispute and reset to draft afterwards
        does not claim the disputed invoice."""
        dunning = self._create_dunnings(
            self.invoice | self.other_invoice, grouping="partner"
        )
        dunning.action_cancel()
        self._dispute(self.invoice, self.price)
        self.assertEqual(dunning.line_ids.move_id, self.invoice | self.other_invoice)
        dunning.with_user(self.billing_user).action_reset_draft()
        self.assertEqual(dunning.state, "draft")
        self.assertEqual(dunning.line_ids.move_id, self.other_invoice)
        self.assertEqual(dunning.amount_residual, 300.0)

    def test_escalation_leaves_disputed_out(self):
        third = self._overdue_invoice(30, 200.0, partner=self.customer_2)
        grouped = self._create_dunnings(
            self.invoice | self.other_invoice, grouping="partner"
        )
        single = self._create_dunnings(third)
        (grouped | single).write({"state": "sent", "sent_date": fields.Datetime.now()})
        self._dispute(self.other_invoice | third, self.quality)
        self.assertEqual(grouped.line_ids.move_id, self.invoice | self.other_invoice)
        escalated, refusals = (
            (grouped | single).with_user(self.billing_user)._escalate()
        )
        self.assertEqual(escalated.previous_id, grouped)
        self.assertEqual(escalated.line_ids.move_id, self.invoice)
        self.assertEqual(list(refusals), [single])
        self.assertIn("under dispute", refusals[single])

    def test_letter_lists_disputes_apart(self):
        """The letter lists the customer's disputed invoices apart, with their
        reason, and does not claim them."""
        Report = self.env["ir.actions.report"]
        dunning = self._create_dunnings(self.other_invoice)
        other_customer = self._create_dunnings(
            self._overdue_invoice(15, partner=self.customer_2)
        )
        self._dispute(self.invoice, self.quality)
        letters = dunning | other_customer
        html = Report._render_qweb_html(LETTER, letters.ids)[0]
        text = html2plaintext(html.decode())
        first, second = text.split("Our reference:")[1:]
        if other_customer.name in first:
            first, second = second, first
        self.assertIn("Invoices under dispute, not claimed here", first)
        claimed, disputed = first.split("Invoices under dispute, not claimed here")
        self.assertIn(self.other_invoice.name, claimed)
        self.assertNotIn(self.invoice.name, claimed)
        self.assertIn(self.invoice.name, disputed)
        self.assertIn("Quality", disputed)
        self.assertIn("500.00", disputed)
        self.assertNotIn("under dispute", second, "not another customer's disputes")
        # One search for the disputes of every letter: as many queries for
        # one letter as for three.
        Letters = self.env["report.kpulse_dunning.report_dunning_letter"]
        third = self._create_dunnings(self._overdue_invoice(12, 90.0))

        def queries(dunnings):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            disputes = Letters._disputes_by_letter(dunnings)
            self.assertEqual(disputes[dunnings[0].id].move_id, self.invoice)
            return self.env.cr.sql_log_count - before

        self.assertEqual(queries(dunning), queries(dunning | third | other_customer))
        # A new letter of the disputed invoice's customer does not claim it:
        # the eligibility refuses it, and a reminder not sent yet loses it.
        self.assertEqual(dunning.amount_residual, 300.0)
        # A real PDF still renders (one page).
        with self.allow_pdf_render():
            pdf = dunning.with_context(
                force_report_rendering=True
            )._render_letter_pdfs()[dunning.id]
        self.assertTrue(pdf.startswith(b"%PDF"))
        self.assertEqual(PdfFileReader(io.BytesIO(pdf)).getNumPages(), 1)
        with open("/tmp/kt/dispute_letter.pdf", "wb") as file:
            file.write(pdf)

    def test_reason_in_customer_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.quality.with_context(lang="fr_FR").name = "Qualité"
        self.customer.lang = "fr_FR"
        dunning = self._create_dunnings(self.other_invoice)
        self._dispute(self.invoice, self.quality)
        html = self.env["ir.actions.report"]._render_qweb_html(LETTER, dunning.ids)[0]
        self.assertIn("Qualité", html2plaintext(html.decode()))

    def test_salesman_own_disputes(self):
        salesman = new_test_user(
            self.env,
            login="kpulse_dispute_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=self.env.company.id,
        )
        other_salesman = new_test_user(
            self.env,
            login="kpulse_dispute_other_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=self.env.company.id,
        )
        mine = self._overdue_invoice(10, invoice_user_id=salesman.id)
        theirs = self._overdue_invoice(12, invoice_user_id=other_salesman.id)
        self._dispute(mine | theirs, self.price)
        Dispute = self.env["kpulse.dunning.dispute"].with_user(salesman)
        self.assertEqual(Dispute.search([]).move_id, mine)
        with self.assertRaises(AccessError):
            theirs.kpulse_dispute_id.with_user(salesman).read(["note"])
        # He reads his own, but neither records nor resolves a dispute.
        self.assertEqual(
            mine.kpulse_dispute_id.with_user(salesman).reason_id, self.price
        )
        with self.assertRaises(AccessError):
            self.invoice.with_user(salesman).action_kpulse_dispute()
        with self.assertRaises(AccessError):
            Dispute.create({"move_id": self.invoice.id, "reason_id": self.price.id})
        with self.assertRaises(AccessError):
            mine.kpulse_dispute_id.with_user(salesman).action_resolve()
        with self.assertRaises(AccessError):
            self.price.with_user(salesman).name = "Too expensive"

    def test_other_company_sees_nothing(self):
        other_company = self.setup_other_company()["company"]
        other_user = new_test_user(
            self.env,
            login="kpulse_dispute_other_company",
            groups="account.group_account_invoice",
            company_id=other_company.id,
            company_ids=other_company.ids,
        )
        self._dispute(self.invoice, self.price)
        Dispute = self.env["kpulse.dunning.dispute"].with_user(other_user)
        self.assertFalse(Dispute.search([]))
        self.assertTrue(self.price.with_user(other_user).name, "reasons are shared")


@tagged("post_install", "-at_install")
class TestDisputeUi(AccountTestInvoicingHttpCommon):
    def test_dispute_tour(self):
        """Open an invoice, Dispute it with a reason, see it in the disputes,
        resolve it."""
        user = new_test_user(
            self.env,
            login="kpulse_dispute_tour",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
            company_id=self.env.company.id,
        )
        partner = self.env["res.partner"].create(
            {"name": "Dispute Tour Customer", "is_company": True}
        )
        due = fields.Date.today() - timedelta(days=12)
        invoice = self._create_invoice(
            partner_id=partner.id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create({"name": "Service", "price_unit": 700.0, "tax_ids": []})
            ],
            post=True,
        )
        self.assertTrue(invoice.kpulse_can_be_dunned)
        self.start_tour(
            f"/odoo/action-account.action_move_out_invoice_type/{invoice.id}",
            "kpulse_dunning_dispute_tour",
            login=user.login,
        )
        dispute = invoice.kpulse_dispute_ids
        self.assertEqual(
            dispute.reason_id,
            self.env.ref("kpulse_dunning.kpulse_dunning_dispute_reason_not_delivered"),
        )
        self.assertEqual(dispute.note, "Goods never received")
        self.assertEqual(dispute.user_id, user)
        self.assertEqual(dispute.state, "resolved")
        self.assertTrue(invoice.kpulse_can_be_dunned)
