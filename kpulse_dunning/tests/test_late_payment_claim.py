from ast import literal_eval
from datetime import date

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

# Reference rate of 2026-H1 (shipped data): 2.15 %, + 10 points = 12.15 % a
# year; 365 days a year; fixed indemnity 40 € (1 € = 1 company currency unit,
# see KpulseDunningCommon). TODAY is 2026-06-15.
DUE = date(2026, 4, 16)  # TODAY - 60 days


class LatePaymentClaimCommon(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "kpulse_penalty_apply": True,
                "kpulse_penalty_rate_mode": "reference",
                "kpulse_penalty_margin": 10.0,
                "kpulse_indemnity_amount": 40.0,
                "kpulse_dunning_grouping": "invoice",
            }
        )
        cls.claim_template = cls.env.ref("kpulse_dunning.kpulse_dunning_template_claim")

    @classmethod
    def _pay_on(cls, invoice, amount, day):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": day})
            ._create_payments()
        )

    @classmethod
    def _paid_late(cls, amount=1000.0, paid_on=date(2026, 5, 16), partner=None):
        """An invoice of ``amount`` due on DUE, paid in full on ``paid_on``."""
        invoice = cls._overdue_invoice(60, amount=amount, partner=partner)
        cls._pay_on(invoice, amount, paid_on)
        return invoice

    def _line_values(self, claim):
        return [
            (
                line.move_id,
                line.date_paid,
                line.days_overdue,
                line.amount_residual,
                line.penalty_amount,
                line.indemnity_amount,
            )
            for line in claim.line_ids
        ]


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestLatePaymentClaim(LatePaymentClaimCommon):
    def test_paid_in_full_30_days_late(self):
        # 1,000.00 due 16 April 2026, paid in full on 16 May 2026 (D+30).
        # 17 April - 16 May = 30 late days (the payment day counts) on 1,000.00:
        #   1000.00 × 12.15 % × 30 / 365 = 3645.00 / 365 = 9.9863 → 9.99
        # Fixed indemnity: 40.00. Nothing due any more: total claimed 49.99.
        invoice = self._paid_late()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertTrue(invoice.kpulse_paid_late)
        claim = invoice._kpulse_create_late_payment_claims()
        self.assertEqual(claim.claim_type, "late_payment")
        self.assertEqual(claim.template_id, self.claim_template)
        self.assertEqual(claim.state, "draft")
        self.assertEqual(
            self._line_values(claim),
            [(invoice, date(2026, 5, 16), 30, 0.0, 9.99, 40.0)],
        )
        self.assertEqual(
            [
                (p.date_from, p.date_to, p.days, p.base_amount, p.rate, p.amount)
                for p in claim.penalty_ids
            ],
            [(date(2026, 4, 17), date(2026, 5, 16), 30, 1000.0, 12.15, 9.99)],
        )
        self.assertEqual(claim.amount_residual, 0.0)
        self.assertEqual(claim.penalty_total, 9.99)
        self.assertEqual(claim.indemnity_total, 40.0)
        self.assertEqual(claim.amount_claimed, 49.99)
        # Claimed: no longer proposed, and a second claim is refused.
        invoice.invalidate_recordset(["kpulse_paid_late"])
        self.assertFalse(invoice.kpulse_paid_late)
        with self.assertRaisesRegex(UserError, f"already claimed in {claim.name}"):
            invoice._kpulse_create_late_payment_claims()
        # Cancelled, the claim no longer blocks a new one.
        claim.action_cancel()
        self.assertEqual(len(invoice._kpulse_create_late_payment_claims()), 1)

    def test_contractual_rate(self):
        # Same invoice, contractual rate 15 %:
        #   1000.00 × 15 % × 30 / 365 = 4500.00 / 365 = 12.3288 → 12.33
        self.company.write(
            {"kpulse_penalty_rate_mode": "fixed", "kpulse_penalty_fixed_rate": 15.0}
        )
        claim = self._paid_late()._kpulse_create_late_payment_claims()
        self.assertEqual(claim.penalty_total, 12.33)
        self.assertEqual(claim.amount_claimed, 52.33)

    def test_partial_payments_late(self):
        # 1,000.00 due 16 April: 400.00 paid 26 April (D+10), 600.00 on
        # 16 May (D+30).
        # 17 - 26 April = 10 days on 1,000.00:
        #   1000.00 × 12.15 % × 10 / 365 = 1215.00 / 365 = 3.3288 → 3.33
        # 27 April - 16 May = 20 days on 600.00:
        #   600.00 × 12.15 % × 20 / 365 = 1458.00 / 365 = 3.9945 → 3.99
        # Penalty 3.33 + 3.99 = 7.32; indemnity 40.00; claimed 47.32.
        invoice = self._overdue_invoice(60, amount=1000.0)
        self._pay_on(invoice, 400.0, date(2026, 4, 26))
        self._pay_on(invoice, 600.0, date(2026, 5, 16))
        claim = invoice._kpulse_create_late_payment_claims()
        self.assertEqual(
            [(p.date_from, p.date_to, p.base_amount, p.amount)
             for p in claim.penalty_ids],
            [
                (date(2026, 4, 17), date(2026, 4, 26), 1000.0, 3.33),
                (date(2026, 4, 27), date(2026, 5, 16), 600.0, 3.99),
            ],
        )  # fmt: skip
        self.assertEqual(
            self._line_values(claim),
            [(invoice, date(2026, 5, 16), 30, 0.0, 7.32, 40.0)],
        )
        self.assertEqual(claim.amount_claimed, 47.32)

    def test_instalments(self):
        # 1,000.00 invoiced 1 March 2026: 500.00 due at once (1 March), 500.00
        # thirty days later (31 March); all paid on 10 April.
        # First: 2 March - 10 April = 30 + 10 = 40 days on 500.00:
        #   500.00 × 12.15 % × 40 / 365 = 2430.00 / 365 = 6.6575 → 6.66
        # Second: 1 - 10 April = 10 days on 500.00:
        #   500.00 × 12.15 % × 10 / 365 = 607.50 / 365 = 1.6644 → 1.66
        # Penalty 6.66 + 1.66 = 8.32; one indemnity per invoice: 40.00.
        terms = self.env["account.payment.term"].create(
            {
                "name": "Half now, half in 30 days",
                "line_ids": [
                    Command.create({"value": "percent", "value_amount": 50.0,
                                    "nb_days": 0}),
                    Command.create({"value": "percent", "value_amount": 50.0,
                                    "nb_days": 30}),
                ],
            }
        )  # fmt: skip
        invoice = self._create_invoice(
            partner_id=self.customer.id,
            invoice_date="2026-03-01",
            invoice_payment_term_id=terms.id,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": 1000.0, "tax_ids": []}
                )
            ],
            post=True,
        )
        self._pay_on(invoice, 1000.0, date(2026, 4, 10))
        claim = invoice._kpulse_create_late_payment_claims()
        self.assertEqual(
            [(p.date_due, p.date_from, p.date_to, p.days, p.amount)
             for p in claim.penalty_ids],
            [
                (date(2026, 3, 1), date(2026, 3, 2), date(2026, 4, 10), 40, 6.66),
                (date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 10), 10, 1.66),
            ],
        )  # fmt: skip
        self.assertEqual(claim.line_ids.date_paid, date(2026, 4, 10))
        self.assertEqual(claim.penalty_total, 8.32)
        self.assertEqual(claim.indemnity_total, 40.0)

    def test_indemnity_in_company_currency(self):
        # The company keeps its books in another currency than the euro:
        # on 1 June 2026, 1.00 company unit = 0.80 € (rate 0.8 of the euro),
        # so 40.00 € = 40.00 / 0.80 = 50.00 in the company currency. The
        # penalty is unchanged (9.99, see test_paid_in_full_30_days_late).
        euro = self.env.ref("base.EUR")
        if self.company.currency_id == euro:
            self.skipTest("the test company keeps its books in euros")
        self.env["res.currency.rate"].create(
            {
                "name": "2026-06-01",
                "rate": 0.8,
                "currency_id": euro.id,
                "company_id": self.company.id,
            }
        )
        claim = self._paid_late()._kpulse_create_late_payment_claims()
        self.assertEqual(claim.currency_id, self.company.currency_id)
        self.assertEqual(claim.penalty_total, 9.99)
        self.assertEqual(claim.indemnity_total, 50.0)
        self.assertEqual(claim.amount_claimed, 59.99)
        self.assertFalse(claim.penalty_warning)

    def test_missing_indemnity_rate_warns(self):
        # An invoice in a currency without any rate: Odoo converts the 40 €
        # at 1:1; the reminder says so instead of keeping quiet.
        currency = self.env["res.currency"].create(
            {"name": "KPZ", "symbol": "KPZ", "rounding": 0.01}
        )
        invoice = self._overdue_invoice(30, currency_id=currency.id)
        dunning = self._create_dunnings(invoice, template=self.template_2)
        self.assertEqual(dunning.indemnity_total, 40.0)
        self.assertIn("No exchange rate for KPZ", dunning.penalty_warning)
        self.assertIn("1:1", dunning.penalty_warning)
        # Once the rate is there, the warning goes.
        self.env["res.currency.rate"].create(
            {
                "name": "2026-01-01",
                "rate": 2.0,
                "currency_id": currency.id,
                "company_id": self.company.id,
            }
        )
        dunning.invalidate_recordset(["penalty_warning"])
        self.assertFalse(dunning.penalty_warning)

    def test_refusals(self):
        on_time = self._overdue_invoice(60, amount=300.0)
        self._pay_on(on_time, 300.0, DUE)  # paid on its due date: not late
        unpaid = self._overdue_invoice(20, amount=200.0)
        consumer = self.env["res.partner"].create(
            {"name": "Jean Martin", "email": "jean@example.com"}
        )
        consumer_late = self._paid_late(partner=consumer)
        self.assertFalse(on_time.kpulse_paid_late)
        self.assertFalse(consumer_late.kpulse_paid_late)
        with self.assertRaisesRegex(UserError, "Select at least one invoice paid late"):
            self.env["account.move"]._kpulse_create_late_payment_claims()
        for move, reason in (
            (on_time, "paid on time"),
            (unpaid, "not paid yet: create a reminder instead"),
            (consumer_late, "not a professional customer"),
        ):
            with self.assertRaisesRegex(UserError, f"{move.name}: {reason}"):
                move.action_kpulse_claim_late_payment()
        blocked = self._paid_late()
        blocked.write(
            {"kpulse_dunning_blocked": True, "kpulse_dunning_block_reason": "Dispute"}
        )
        with self.assertRaisesRegex(UserError, r"reminders blocked \(Dispute\)"):
            blocked._kpulse_create_late_payment_claims()
        self.company.kpulse_penalty_apply = False
        late = self._paid_late()
        with self.assertRaisesRegex(UserError, "does not apply late-payment"):
            late._kpulse_create_late_payment_claims()

    def test_reminders_still_refuse_paid_invoices(self):
        invoice = self._paid_late()
        with self.assertRaisesRegex(UserError, f"{invoice.name}: already paid"):
            invoice.action_kpulse_create_dunnings()
        with self.assertRaisesRegex(UserError, "already paid"):
            self._create_dunnings(invoice)
        # A claim template is not a reminder template.
        unpaid = self._overdue_invoice(30)
        with self.assertRaisesRegex(UserError, "is for late-payment claims"):
            self._create_dunnings(unpaid, template=self.claim_template)
        self.assertEqual(
            self.level_1._get_default_template(self.company), self.template_1
        )

    def test_new_reminders_filter(self):
        late = self._paid_late()
        on_time = self._overdue_invoice(60, amount=300.0)
        self._pay_on(on_time, 300.0, DUE)
        unpaid = self._overdue_invoice(20)
        Move = self.env["account.move"]
        self.assertEqual(
            Move.search([("kpulse_paid_late", "=", True)]) & (late | on_time | unpaid),
            late,
        )
        self.assertIn(on_time, Move.search([("kpulse_paid_late", "=", False)]))
        # New reminders lists both: invoices to remind and invoices paid late.
        action = self.env["kpulse.dunning"].action_open_new_dunnings()
        self.assertIn("search_default_kpulse_to_remind", action["context"])
        listed = Move.search(literal_eval(action["domain"]))
        self.assertIn(late, listed)
        self.assertIn(unpaid, listed)
        self.assertNotIn(on_time, listed)
        late._kpulse_create_late_payment_claims()
        self.assertNotIn(late, Move.search([("kpulse_paid_late", "=", True)]))

    def test_grouping_per_customer(self):
        # Two invoices paid late, one customer: one claim with both when the
        # company groups per customer. Each has its own indemnity:
        # 9.99 + 9.99 = 19.98 of penalties, 2 × 40.00 = 80.00 of indemnities.
        self.company.kpulse_dunning_grouping = "partner"
        invoices = self._paid_late() | self._paid_late()
        claim = invoices._kpulse_create_late_payment_claims()
        self.assertEqual(len(claim), 1)
        self.assertEqual(claim.move_ids, invoices)
        self.assertEqual(claim.penalty_total, 19.98)
        self.assertEqual(claim.indemnity_total, 80.0)
        self.assertEqual(claim.amount_claimed, 99.98)

    def test_escalation_refused(self):
        claim = self._paid_late()._kpulse_create_late_payment_claims()
        with self.assertRaisesRegex(
            UserError, f"{claim.name}: a late-payment claim is not escalated"
        ):
            claim._action_escalate()
        self.assertEqual(claim.state, "draft")
        # A payment reconciled meanwhile does not close a claim either.
        claim.line_ids.move_id._kpulse_close_paid_dunnings()
        self.assertEqual(claim.state, "draft")

    def test_letter_and_template(self):
        invoice = self._paid_late()
        claim = invoice._kpulse_create_late_payment_claims()
        html = self.env["ir.actions.report"]._render_qweb_html(
            "kpulse_dunning.action_report_dunning_letter", claim.ids
        )[0]
        text = html2plaintext(html.decode())
        self.assertIn("Claim for late-payment charges", text)
        self.assertIn("paid after their due date", text)
        self.assertIn("Paid On", text)
        self.assertIn("05/16/2026", text)
        self.assertIn("9.99", text)
        self.assertIn("49.99", text)
        self.assertNotIn("Total due", text)
        self.assertIn("Annex: calculation of the late-payment penalties", text)
        body = html2plaintext(
            str(self.claim_template._render_field("body_html", claim.ids)[claim.id])
        )
        self.assertIn("paid after their due date", body)
        self.assertIn("Total claimed:", body)
        self.assertIn("49.99", body)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestLatePaymentClaimInvoice(LatePaymentClaimCommon):
    def test_charges_invoice(self):
        # Two invoices paid late on one claim: 1,000.00 paid D+30 (penalty
        # 9.99, see above) and 500.00 paid D+10:
        #   500.00 × 12.15 % × 10 / 365 = 607.50 / 365 = 1.6644 → 1.66
        # The invoice: 9.99 + 40.00 + 1.66 + 40.00 = 91.65, no tax.
        self.company.kpulse_dunning_grouping = "partner"
        first = self._paid_late()
        second = self._paid_late(amount=500.0, paid_on=date(2026, 4, 26))
        claim = (first | second)._kpulse_create_late_payment_claims()
        # Off by default.
        self.assertFalse(self.company.kpulse_claim_invoice)
        with self.assertRaisesRegex(UserError, "does not invoice late-payment"):
            claim.action_create_claim_invoice()
        self.company.kpulse_claim_invoice = True
        product = self.env.ref("kpulse_dunning.product_late_payment_charges")
        self.assertEqual(self.company._kpulse_claim_product(), product)
        action = claim.with_user(self.billing_user).action_create_claim_invoice()
        move = claim.claim_move_id
        self.assertEqual(action["res_id"], move.id)
        self.assertEqual(move.move_type, "out_invoice")
        self.assertEqual(move.state, "draft")
        self.assertEqual(move.company_id, claim.company_id)
        self.assertEqual(move.partner_id, self.customer)
        self.assertEqual(move.currency_id, claim.currency_id)
        self.assertEqual(move.invoice_origin, claim.name)
        self.assertEqual(
            [(line.product_id, line.price_unit, line.name.split(" on ")[0])
             for line in move.invoice_line_ids],
            [
                (product, 9.99, "Late-payment penalties"),
                (product, 40.0, "Fixed indemnity for recovery costs"),
                (product, 1.66, "Late-payment penalties"),
                (product, 40.0, "Fixed indemnity for recovery costs"),
            ],
        )  # fmt: skip
        self.assertIn(first.name, move.invoice_line_ids[0].name)
        self.assertIn("05/16/2026", move.invoice_line_ids[0].name)
        self.assertFalse(move.invoice_line_ids.tax_ids)
        self.assertEqual(move.amount_total, 91.65)
        # Idempotent: a second click opens the same invoice.
        again = claim.action_create_claim_invoice()
        self.assertEqual(again["res_id"], move.id)
        self.assertEqual(
            self.env["account.move"].search_count(
                [("invoice_origin", "=", claim.name)]
            ),
            1,
        )
        # A reminder is not invoiced.
        reminder = self._create_dunnings(self._overdue_invoice(30))
        with self.assertRaisesRegex(UserError, "not a late-payment claim"):
            reminder.action_create_claim_invoice()

    def test_charges_invoice_in_the_claim_company(self):
        # The invoice belongs to the claim's company, not the user's current one.
        other = self.setup_other_company(name="KPulse Other")["company"]
        self.company.kpulse_claim_invoice = True
        claim = self._paid_late()._kpulse_create_late_payment_claims()
        move = (
            claim.with_context(allowed_company_ids=[other.id, self.company.id])
            .with_company(other)
            ._create_claim_invoices()
        )
        self.assertEqual(move.company_id, self.company)
        self.assertEqual(move.journal_id.company_id, self.company)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestLatePaymentClaimSend(LatePaymentClaimCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    def test_send_claim(self):
        invoice = self._paid_late()
        claim = invoice._kpulse_create_late_payment_claims()
        with self.mock_mail_gateway(), self.allow_pdf_render():
            result = claim.with_context(force_report_rendering=True).action_send()
        self.assertIn("1 reminder(s) sent.", result["params"]["message"])
        self.assertEqual(claim.state, "sent")
        self.assertEqual(claim.line_ids.move_id, invoice, "paid, yet kept")
        self.assertEqual(claim.amount_claimed, 49.99)
        mail = self._new_mails.filtered(
            lambda m: m.model == "kpulse.dunning" and m.res_id == claim.id
        )
        self.assertEqual(
            mail.subject, f"{self.env.company.name}: late-payment charges {claim.name}"
        )
        self.assertIn("paid after their due date", mail.body_html)
        self.assertIn("49.99", mail.body_html)
        # The invoice's reminder level is that of reminders, not claims.
        self.assertFalse(invoice.kpulse_dunning_level_id)
