from datetime import date, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import TODAY, KpulseDunningCommon

DAY = timedelta(days=1)


def _days(first, last):
    return (date.fromisoformat(last) - date.fromisoformat(first)).days + 1


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestPenaltyBreakdown(KpulseDunningCommon):
    """Day-by-day accrual per instalment, with the payments' dates, and the
    breakdown stored on the reminder. Rate 2026-H1: 2.15 + 10 = 12.15 %;
    2025-H2: 2.15 + 10 = 12.15 %; 365 days a year.
    """

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
            }
        )
        cls.currency_kpx = cls.env["res.currency"].create(
            {"name": "KPX", "symbol": "KPX", "rounding": 0.01}
        )
        cls.env["res.currency.rate"].create(
            {
                "name": "2020-01-01",
                "rate": 1.2345,
                "currency_id": cls.currency_kpx.id,
                "company_id": cls.company.id,
            }
        )

    def _pay_on(self, invoice, amount, day):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": day})
            ._create_payments()
        )

    def _periods(self, move, on=TODAY):
        return [
            (p["date_from"], p["date_to"], p["days"], p["base_amount"], p["rate"],
             p["amount"])
            for p in move._kpulse_penalty_values(on)[move.id]["periods"]
        ]  # fmt: skip

    def test_payment_during_the_late_period(self):
        # 500.00 due 50 days ago (2026-04-26), 200.00 paid 10 days ago
        # (2026-06-05, still a late day for the 200.00):
        # 27 April - 5 June = 40 days on 500.00:
        #   500.00 × 12.15 % × 40 / 365 = 2430.00 / 365 = 6.6575 → 6.66
        # 6 - 15 June = 10 days on 300.00:
        #   300.00 × 12.15 % × 10 / 365 = 364.50 / 365 = 0.9986 → 1.00
        # 6.66 + 1.00 = 7.66 (7.6562 unrounded)
        invoice = self._overdue_invoice(50, amount=500.0)
        self._pay_on(invoice, 200.0, TODAY - timedelta(days=10))
        self.assertEqual(
            self._periods(invoice),
            [
                (date(2026, 4, 27), date(2026, 6, 5), 40, 500.0, 12.15, 6.66),
                (date(2026, 6, 6), date(2026, 6, 15), 10, 300.0, 12.15, 1.0),
            ],
        )
        values = invoice._kpulse_penalty_values(TODAY)[invoice.id]
        self.assertEqual(values["penalty_amount"], 7.66)
        # Before the payment, the whole 500.00 on all 50 days:
        # on 2026-06-01: 27 April - 1 June = 36 days:
        # 500.00 × 12.15 % × 36 / 365 = 2187.00 / 365 = 5.99
        self.assertEqual(
            invoice._kpulse_penalty_values(date(2026, 6, 1))[invoice.id][
                "penalty_amount"
            ],
            5.99,
        )

    def test_payment_before_the_due_date(self):
        # 400.00 of 1000.00 paid 5 days before the due date (2026-05-16):
        # 30 days on 600.00: 600.00 × 12.15 % × 30 / 365 = 2187 / 365 = 5.99
        invoice = self._overdue_invoice(30, amount=1000.0)
        self._pay_on(invoice, 400.0, date(2026, 5, 11))
        self.assertEqual(
            self._periods(invoice),
            [(date(2026, 5, 17), date(2026, 6, 15), 30, 600.0, 12.15, 5.99)],
        )

    def test_instalments(self):
        # 1000.00 in two instalments: 500.00 due on the invoice date
        # (2026-04-16), 500.00 thirty days later (2026-05-16).
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
            invoice_date="2026-04-16",
            invoice_payment_term_id=terms.id,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": 1000.0, "tax_ids": []}
                )
            ],
            post=True,
        )
        # First: 17 April - 15 June = 60 days on 500.00:
        #   500.00 × 12.15 % × 60 / 365 = 3645.00 / 365 = 9.9863 → 9.99
        # Second: 17 May - 15 June = 30 days on 500.00:
        #   500.00 × 12.15 % × 30 / 365 = 1822.50 / 365 = 4.9932 → 4.99
        self.assertEqual(
            self._periods(invoice),
            [
                (date(2026, 4, 17), date(2026, 6, 15), 60, 500.0, 12.15, 9.99),
                (date(2026, 5, 17), date(2026, 6, 15), 30, 500.0, 12.15, 4.99),
            ],
        )
        self.assertEqual(
            invoice._kpulse_penalty_values(TODAY)[invoice.id]["penalty_amount"],
            14.98,
        )
        # On 2026-05-10 only the first instalment is late:
        # 17 April - 10 May = 24 days: 500.00 × 12.15 % × 24 / 365 = 3.99
        self.assertEqual(
            invoice._kpulse_penalty_values(date(2026, 5, 10))[invoice.id][
                "penalty_amount"
            ],
            3.99,
        )

    def test_foreign_currency_with_payment(self):
        # 2000.00 KPX due 2026-05-16, 500.00 KPX paid 2026-06-05:
        # 17 May - 5 June = 20 days on 2000.00:
        #   2000.00 × 12.15 % × 20 / 365 = 4860.00 / 365 = 13.3151 → 13.32
        # 6 - 15 June = 10 days on 1500.00:
        #   1500.00 × 12.15 % × 10 / 365 = 1822.50 / 365 = 4.9932 → 4.99
        # Indemnity: 40.00 × 1.2345 = 49.38 KPX
        invoice = self._overdue_invoice(
            30, amount=2000.0, currency_id=self.currency_kpx.id
        )
        self._pay_on(invoice, 500.0, date(2026, 6, 5))
        values = invoice._kpulse_penalty_values(TODAY)[invoice.id]
        self.assertEqual(
            (values["penalty_amount"], values["indemnity_amount"]), (18.31, 49.38)
        )
        self.assertEqual(
            [p["base_amount"] for p in values["periods"]], [2000.0, 1500.0]
        )

    def test_half_year_and_payment_cuts(self):
        # 3000.00 due 2025-06-10, 1000.00 paid 2025-07-10, on 2025-07-20:
        # 11 - 30 June: 20 days on 3000.00 at 3.15 + 10 = 13.15 %:
        #   3000.00 × 13.15 % × 20 / 365 = 7890.00 / 365 = 21.6164 → 21.62
        # 1 - 10 July: 10 days on 3000.00 at 2.15 + 10 = 12.15 %:
        #   3000.00 × 12.15 % × 10 / 365 = 3645.00 / 365 = 9.9863 → 9.99
        # 11 - 20 July: 10 days on 2000.00 at 12.15 %:
        #   2000.00 × 12.15 % × 10 / 365 = 2430.00 / 365 = 6.6575 → 6.66
        # 21.62 + 9.99 + 6.66 = 38.27
        invoice = self._create_invoice(
            partner_id=self.customer.id,
            invoice_date="2025-05-10",
            invoice_date_due="2025-06-10",
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": 3000.0, "tax_ids": []}
                )
            ],
            post=True,
        )
        self._pay_on(invoice, 1000.0, date(2025, 7, 10))
        on = date(2025, 7, 20)
        self.assertEqual(
            self._periods(invoice, on),
            [
                (date(2025, 6, 11), date(2025, 6, 30), 20, 3000.0, 13.15, 21.62),
                (date(2025, 7, 1), date(2025, 7, 10), 10, 3000.0, 12.15, 9.99),
                (date(2025, 7, 11), date(2025, 7, 20), 10, 2000.0, 12.15, 6.66),
            ],
        )
        values = invoice._kpulse_penalty_values(on)[invoice.id]
        self.assertEqual((values["penalty_amount"], values["penalty_rate"]),
                         (38.27, 12.15))  # fmt: skip
        # A payment after the computation date is not known yet on it.
        self.assertEqual(len(self._periods(invoice, date(2025, 7, 5))), 2)

    def test_breakdown_stored_on_the_reminder(self):
        invoice = self._overdue_invoice(50, amount=500.0)
        self._pay_on(invoice, 200.0, TODAY - timedelta(days=10))
        other = self._overdue_invoice(30, amount=1000.0)  # 30 days: 9.99
        dunning = self._create_dunnings(
            invoice | other, template=self.template_2, grouping="partner"
        )
        self.assertEqual(dunning.penalty_date, TODAY)
        line = dunning.line_ids.filtered(lambda line: line.move_id == invoice)
        self.assertEqual(
            line.penalty_ids.mapped(lambda p: (p.days, p.base_amount, p.amount)),
            [(40, 500.0, 6.66), (10, 300.0, 1.0)],
        )
        self.assertEqual(line.penalty_amount, 7.66)
        self.assertEqual(
            sum(dunning.line_ids.penalty_ids.mapped("amount")), dunning.penalty_total
        )
        self.assertEqual(dunning.penalty_total, 17.65)  # 7.66 + 9.99
        # The letter lists them, with the date they are computed on.
        html = self.env["ir.qweb"]._render(
            "kpulse_dunning.report_dunning_letter_document",
            {"doc": dunning, "doc_first": True, "letter_bodies": {dunning.id: ""}},
        )
        for text in ("06/05/2026", "500.00", "300.00", "12.15", "6.66", "06/15/2026"):
            self.assertIn(text, str(html))

    def test_recomputed_when_sent(self):
        # Created on TODAY: 30 days on 1000.00: 9.99. Sent ten days later,
        # 200.00 paid on 2026-06-20: 17 May - 20 June = 35 days on 1000.00:
        #   1000.00 × 12.15 % × 35 / 365 = 4252.50 / 365 = 11.6507 → 11.65
        # 21 - 25 June = 5 days on 800.00:
        #   800.00 × 12.15 % × 5 / 365 = 486.00 / 365 = 1.3315 → 1.33
        # 11.65 + 1.33 = 12.98
        invoice = self._overdue_invoice(30, amount=1000.0)
        dunning = self._create_dunnings(invoice, template=self.template_2)
        self.assertEqual(dunning.penalty_total, 9.99)
        later = TODAY + timedelta(days=10)
        with freeze_time(later):
            self._pay_on(invoice, 200.0, date(2026, 6, 20))
            self.env["kpulse.dunning.send"]._send(dunning)
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(dunning.penalty_date, later)
        self.assertEqual(dunning.penalty_total, 12.98)
        self.assertEqual(dunning.amount_residual, 800.0)
        self.assertEqual(dunning.amount_claimed, 800.0 + 12.98 + 40.0)
        self.assertEqual(dunning.line_ids.penalty_ids.mapped("amount"), [11.65, 1.33])

    def test_batch_queries(self):
        # The breakdown of a batch costs the same queries at 3 and 30
        # invoices, with instalments and payments.
        def batch(count):
            moves = self.env["account.move"].union(
                *(
                    self._overdue_invoice(
                        10 + index, amount=100.0 + index,
                        currency_id=(self.currency_kpx if index % 2
                                     else self.company.currency_id).id,
                    )
                    for index in range(count)
                )
            )  # fmt: skip
            for move in moves[::3]:
                self._pay_on(move, 10.0, TODAY - timedelta(days=2))
            return moves

        small, large = batch(3), batch(30)
        self.env.flush_all()
        counts = []
        for moves in (small, small, large):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            moves._kpulse_penalty_values(TODAY)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2])

    def test_preview_recomputed_today(self):
        # Created on TODAY: 30 days on 1000.00: 9.99. Previewed ten days
        # later: 17 May - 25 June = 40 days on 1000.00:
        #   1000.00 × 12.15 % × 40 / 365 = 4860.00 / 365 = 13.3151 → 13.32
        invoice = self._overdue_invoice(30, amount=1000.0)
        dunning = self._create_dunnings(invoice, template=self.template_2)
        with freeze_time(TODAY + timedelta(days=10)):
            preview = self.env["kpulse.dunning.template.preview"].create(
                {"template_id": self.template_2.id, "dunning_id": dunning.id}
            )
            record = preview._preview_record()
            self.assertEqual(
                (record.penalty_total, record.penalty_date),
                (13.32, TODAY + timedelta(days=10)),
            )
            self.assertIn("13.32", preview.letter_html)
            self.assertIn("06/25/2026", preview.letter_html)
        # Nothing saved.
        self.assertEqual((dunning.penalty_total, dunning.penalty_date), (9.99, TODAY))

    def test_missing_rates(self):
        Rate = self.env["kpulse.dunning.rate"]
        # The shipped rates start on 2022-01-01.
        self.assertEqual(
            Rate._missing_half_years(date(2021, 12, 2), date(2022, 1, 30)),
            [date(2021, 7, 1)],
        )
        # Due 2021-12-01, on 2022-01-30: 2 - 31 December 2021 have no rate
        # (no penalty, a warning); 1 - 30 January 2022: 30 days at 0 + 10 %:
        #   1000.00 × 10 % × 30 / 365 = 3000.00 / 365 = 8.2192 → 8.22
        invoice = self._create_invoice(
            partner_id=self.customer.id,
            invoice_date="2021-11-01",
            invoice_date_due="2021-12-01",
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": 1000.0, "tax_ids": []}
                )
            ],
            post=True,
        )
        values = invoice._kpulse_penalty_values(date(2022, 1, 30))[invoice.id]
        self.assertEqual(
            [(p["date_from"], p["days"], p["rate"], p["amount"])
             for p in values["periods"]],
            [(date(2022, 1, 1), 30, 10.0, 8.22)],
        )  # fmt: skip
        self.assertEqual(values["penalty_amount"], 8.22)
        # The settings name the half-year, from the oldest amount still due.
        settings = self.env["res.config.settings"].create({})
        self.assertIn("07/01/2021", settings.kpulse_missing_rates_warning)
        # So does the reminder.
        dunning = self._create_dunnings(invoice, template=self.template_2)
        self.assertIn("07/01/2021", dunning.penalty_warning)
        other = self._overdue_invoice(30)
        self.assertFalse(self._create_dunnings(other).penalty_warning)
        # After the last rate (2026-01-01), 1 July 2026 is missing once
        # passed: the rate list and a reminder of that day say so.
        last = Rate.search([], order="date_from desc", limit=1)
        self.assertFalse(last.missing_after)
        with freeze_time("2026-07-10"):
            last.invalidate_recordset(["missing_after"])
            self.assertEqual(last.missing_after, "07/01/2026")
            later = self._create_dunnings(self._overdue_invoice(40))
            self.assertIn("07/01/2026", later.penalty_warning)
        # Adding the rate clears the warnings.
        Rate.create({"date_from": "2026-07-01", "rate": 2.15})
        with freeze_time("2026-07-10"):
            last.invalidate_recordset(["missing_after"])
            self.assertFalse(last.missing_after)

    def test_indemnity_in_euros(self):
        # The test company counts in USD; 1 USD = 0.9 EUR, 1 USD = 1.2345 KPX.
        self.assertEqual(self.company.currency_id.name, "USD")
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            {
                "name": "2026-01-01",
                "rate": 0.9,
                "currency_id": eur.id,
                "company_id": self.company.id,
            }
        )
        usd_invoice = self._overdue_invoice(30)
        kpx_invoice = self._overdue_invoice(30, currency_id=self.currency_kpx.id)
        values = (usd_invoice | kpx_invoice)._kpulse_penalty_values(TODAY)
        # 40.00 EUR / 0.9 = 44.444 → 44.44 USD
        self.assertEqual(values[usd_invoice.id]["indemnity_amount"], 44.44)
        # 40.00 EUR × 1.2345 / 0.9 = 54.8667 → 54.87 KPX
        self.assertEqual(values[kpx_invoice.id]["indemnity_amount"], 54.87)

    def test_deadline_from_the_level(self):
        self.level_3.payment_delay_days = 15
        dunning = self._create_dunnings(
            self._overdue_invoice(90), template=self.template_3
        )
        for field_name in ("body_html", "letter_html"):
            text = str(
                self.template_3._render_field(field_name, dunning.ids)[dunning.id]
            )
            self.assertIn("within 15 days", text)
            self.assertIn("06/30/2026", text)  # TODAY + 15 days
            self.assertNotIn("8 days", text)

    def test_contractual_rate_below_the_legal_floor(self):
        # Legal rate 2026-H1 (arrêté of 15 December 2025): 2.62 %;
        # floor 3 × 2.62 = 7.86 %.
        Settings = self.env["res.config.settings"]
        self.company.write(
            {"kpulse_penalty_rate_mode": "fixed", "kpulse_penalty_fixed_rate": 7.8}
        )
        warning = Settings.create({}).kpulse_penalty_fixed_rate_warning
        self.assertIn("7.86", warning)
        self.company.kpulse_penalty_fixed_rate = 7.86
        self.assertFalse(Settings.create({}).kpulse_penalty_fixed_rate_warning)
        self.company.kpulse_penalty_rate_mode = "reference"
        self.company.kpulse_penalty_fixed_rate = 1.0
        self.assertFalse(Settings.create({}).kpulse_penalty_fixed_rate_warning)
