from datetime import date, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import TODAY, KpulseDunningCommon

NO_PENALTY = (0.0, 0.0, 0.0)
DEFAULT_SETTINGS = {
    "kpulse_penalty_apply": True,
    "kpulse_penalty_rate_mode": "reference",
    "kpulse_penalty_margin": 10.0,
    "kpulse_penalty_fixed_rate": 0.0,
    "kpulse_indemnity_amount": 40.0,
}

CONTRACTUAL_15 = {
    "kpulse_penalty_rate_mode": "fixed",
    "kpulse_penalty_fixed_rate": 15.0,
}


def _case(name, due, on, amount, expected, **options):
    """A row of the table: options are company settings, amount paid,
    partner and currency (names of the test class attributes)."""
    return name, due, on, amount, options, expected


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestPenalties(KpulseDunningCommon):
    """Late-payment penalties and the fixed recovery indemnity (L441-10).

    Reference rates come from the shipped data: 2023-07-01 4.00,
    2024-01-01 4.50, 2025-01-01 3.15, 2025-07-01 2.15, 2026-01-01 2.15.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(DEFAULT_SETTINGS)
        Partner = cls.env["res.partner"]
        cls.consumer = Partner.create({"name": "Jeanne Petit", "is_company": False})
        cls.sole_trader = Partner.create(
            {
                "name": "Luc Garnier",
                "is_company": False,
                "kpulse_is_professional": True,
            }
        )
        cls.public_buyer = Partner.create(
            {
                "name": "Commune de Villeurbanne",
                "is_company": True,
                "kpulse_penalty_category": "public",
            }
        )
        cls.insolvent = Partner.create(
            {
                "name": "Menuiserie Leroy",
                "is_company": True,
                "kpulse_penalty_excluded": True,
            }
        )
        cls.insolvent_contact = Partner.create(
            {"name": "Paul Leroy", "parent_id": cls.insolvent.id}
        )
        # Only the commercial partner's flag counts.
        cls.flagged_contact = Partner.create(
            {
                "name": "Marie Dupont",
                "parent_id": cls.customer.id,
                "kpulse_penalty_excluded": True,
            }
        )
        # 1 company currency unit = 1.2345 KPX, whatever the company currency.
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

    def _invoice(self, due, amount, partner=None, currency=None):
        due = date.fromisoformat(due)
        return self._create_invoice(
            partner_id=(partner or self.customer).id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            currency_id=(currency or self.company.currency_id).id,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": amount, "tax_ids": []}
                )
            ],
            post=True,
        )

    def _values(self, move, on):
        values = move._kpulse_penalty_values(on)[move.id]
        return (
            values["penalty_amount"],
            values["indemnity_amount"],
            values["penalty_rate"],
        )

    def test_penalty_table(self):
        # Amounts in the invoice currency, rates in % a year, 365 days a year.
        cases = [
            # 30 days (16 May excluded, 15 June included), 2026-H1 rate 2.15:
            # 1000.00 × (2.15 + 10) % × 30 / 365 = 364.50 / 36.5 = 9.99
            _case("reference rate", "2026-05-16", "2026-06-15", 1000.0,
                  (9.99, 40.0, 12.15)),
            # EU minimum margin of 8 points:
            # 1000.00 × (2.15 + 8) % × 30 / 365 = 304.50 / 36.5 = 8.34
            _case("margin 8", "2026-05-16", "2026-06-15", 1000.0,
                  (8.34, 40.0, 10.15), company={"kpulse_penalty_margin": 8.0}),
            # 2000.00 invoiced, 800.00 paid on the computation day (still a
            # late day for it): the 2000.00 was due for 60 days (14 in April,
            # 31 in May, 15 in June):
            # 2000.00 × (2.15 + 10) % × 60 / 365 = 14580.00 / 365 = 39.95
            _case("partial payment", "2026-04-16", "2026-06-15", 2000.0,
                  (39.95, 40.0, 12.15), paid=800.0),
            # 1 July boundary: 11-30 June = 20 days at 2025-H1 (3.15),
            # 1-20 July = 20 days at 2025-H2 (2.15):
            # 5000.00 × ((3.15 + 10) × 20 + (2.15 + 10) × 20) % / 365
            #   = 5000.00 × (263 + 243) / 36500 = 2530000 / 36500 = 69.32
            _case("1 July boundary", "2025-06-10", "2025-07-20", 5000.0,
                  (69.32, 40.0, 12.15)),
            # 1 January boundary: 21-31 Dec = 11 days at 2023-H2 (4.00),
            # 1-19 Jan = 19 days at 2024-H1 (4.50):
            # 3000.00 × ((4.00 + 10) × 11 + (4.50 + 10) × 19) % / 365
            #   = 3000.00 × (154 + 275.5) / 36500 = 1288500 / 36500 = 35.30
            _case("1 January boundary", "2023-12-20", "2024-01-19", 3000.0,
                  (35.30, 40.0, 14.50)),
            # Leap year: 16-29 Feb = 14 days + 1-15 March = 15 days = 29 days,
            # still over 365:
            # 1000.00 × (4.50 + 10) % × 29 / 365 = 420.50 / 36.5 = 11.52
            _case("leap year", "2024-02-15", "2024-03-15", 1000.0,
                  (11.52, 40.0, 14.50)),
            # Contractual 15 %, the same on both sides of 1 January:
            # 2-31 Dec = 30 days + 1-30 Jan = 30 days = 60 days:
            # 2500.00 × 15 % × 60 / 365 = 22500.00 / 365 = 61.64
            _case("contractual rate", "2025-12-01", "2026-01-30", 2500.0,
                  (61.64, 40.0, 15.0), company=CONTRACTUAL_15),
            # Invoice in KPX: penalty on the KPX balance, indemnity converted:
            # 2000.00 × (2.15 + 10) % × 30 / 365 = 729.00 / 36.5 = 19.97 KPX
            # 40.00 × 1.2345 = 49.38 KPX
            _case("foreign currency", "2026-05-16", "2026-06-15", 2000.0,
                  (19.97, 49.38, 12.15), currency="currency_kpx"),
            # Another indemnity amount: 100.00; penalty as above:
            # 1000.00 × (2.15 + 10) % × 30 / 365 = 9.99
            _case("indemnity of 100", "2026-05-16", "2026-06-15", 1000.0,
                  (9.99, 100.0, 12.15), company={"kpulse_indemnity_amount": 100.0}),
            # A contact flagged alone: its company's (unflagged) setting counts.
            # 1000.00 × (2.15 + 10) % × 30 / 365 = 9.99
            _case("flagged contact", "2026-05-16", "2026-06-15", 1000.0,
                  (9.99, 40.0, 12.15), partner="flagged_contact"),
            # An individual set as professional (sole trader) is charged:
            # 1000.00 × (2.15 + 10) % × 30 / 365 = 9.99
            _case("sole trader", "2026-05-16", "2026-06-15", 1000.0,
                  (9.99, 40.0, 12.15), partner="sole_trader"),
            # Public buyer: reference rate + 8 points, whatever the settings:
            # 1000.00 × (2.15 + 8) % × 30 / 365 = 304.50 / 36.5 = 8.34
            _case("public buyer", "2026-05-16", "2026-06-15", 1000.0,
                  (8.34, 40.0, 10.15), partner="public_buyer"),
            _case("public buyer, contractual rate", "2026-05-16", "2026-06-15",
                  1000.0, (8.34, 40.0, 10.15), partner="public_buyer",
                  company=CONTRACTUAL_15),
            # Consumer (not a company): neither penalty nor indemnity.
            _case("consumer", "2026-05-16", "2026-06-15", 1000.0,
                  NO_PENALTY, partner="consumer"),
            # Customer in insolvency proceedings, and its contact.
            _case("excluded customer", "2026-05-16", "2026-06-15", 1000.0,
                  NO_PENALTY, partner="insolvent"),
            _case("contact of excluded customer", "2026-05-16", "2026-06-15", 1000.0,
                  NO_PENALTY, partner="insolvent_contact"),
            # Company setting off.
            _case("setting off", "2026-05-16", "2026-06-15", 1000.0,
                  NO_PENALTY, company={"kpulse_penalty_apply": False}),
        ]  # fmt: skip
        for name, due, on, amount, options, expected in cases:
            with self.subTest(case=name):
                self.company.write(DEFAULT_SETTINGS | options.get("company", {}))
                invoice = self._invoice(
                    due,
                    amount,
                    partner=getattr(self, options.get("partner", "customer")),
                    currency=getattr(self, options["currency"])
                    if "currency" in options
                    else None,
                )
                if "paid" in options:
                    self._pay(invoice, options["paid"])
                on = date.fromisoformat(on)
                self.assertEqual(self._values(invoice, on), expected)
                with freeze_time(on):
                    line = self._create_dunnings(invoice).line_ids
                self.assertEqual(
                    (line.penalty_amount, line.indemnity_amount, line.penalty_rate),
                    expected,
                )

    def test_not_late_on_due_date(self):
        # Due on the computation date: 0 days late, nothing due.
        invoice = self._invoice("2026-06-15", 1000.0)
        self.assertEqual(self._values(invoice, TODAY), NO_PENALTY)
        # The next day counts: 1000.00 × 12.15 % × 1 / 365 = 0.33
        self.assertEqual(
            self._values(invoice, TODAY + timedelta(days=1)), (0.33, 40.0, 12.15)
        )

    def test_record_rule_does_not_spare_penalties(self):
        """An invoice a record rule hides from the user, handed over by the
        code (a reminder of it), bears its penalties and is found settled
        once paid, as for a user who sees it."""
        hidden = self._invoice("2026-03-15", 1000.0)
        paid = self._invoice("2026-03-15", 500.0)
        self._pay(paid)
        user = new_test_user(
            self.env, login="kpulse_ruled", groups="account.group_account_invoice"
        )
        self.env["ir.rule"].create(
            {
                "name": "Not these invoices",
                "model_id": self.env["ir.model"]._get_id("account.move"),
                "domain_force": repr([("id", "not in", (hidden | paid).ids)]),
            }
        )
        moves = (hidden | paid).with_user(user)
        self.assertFalse(moves.search([("id", "in", moves.ids)]), "hidden")
        expected = hidden._kpulse_penalty_values(TODAY)[hidden.id]
        self.assertTrue(expected["penalty_amount"], "the test needs a penalty")
        self.assertEqual(moves._kpulse_penalty_values(TODAY)[hidden.id], expected)
        self.assertEqual(moves._kpulse_settled_ids(), {paid.id})

    def test_values_in_one_batch(self):
        late = self._invoice("2026-05-16", 1000.0)
        consumer = self._invoice("2026-05-16", 1000.0, partner=self.consumer)
        credit_note = self._create_invoice(
            move_type="out_refund",
            partner_id=self.customer.id,
            invoice_date="2026-04-16",
            invoice_date_due="2026-05-16",
            invoice_line_ids=[
                Command.create({"name": "Refund", "price_unit": 50.0, "tax_ids": []})
            ],
            post=True,
        )
        values = (late | consumer | credit_note)._kpulse_penalty_values(TODAY)
        self.assertEqual(values[late.id]["penalty_amount"], 9.99)
        self.assertEqual(values[consumer.id]["indemnity_amount"], 0.0)
        self.assertEqual(values[credit_note.id]["penalty_amount"], 0.0)

        # The same queries for 3 and 30 invoices over several half-years,
        # customers and currencies.
        def batch(count):
            return self.env["account.move"].union(
                *(
                    self._invoice(
                        f"202{3 + index % 4}-0{1 + index % 9}-15",
                        100.0 + index,
                        partner=(self.customer, self.customer_2, self.consumer)[
                            index % 3
                        ],
                        currency=self.currency_kpx if index % 2 else None,
                    )
                    for index in range(count)
                )
            )

        small, large = batch(3), batch(30)
        self.env.flush_all()
        counts = []
        for moves in (small, small, large):  # the first run warms the caches
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            moves._kpulse_penalty_values(TODAY)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2])
        # the invoices that bear penalties (one search), their groups by
        # settings and by company and currency (two), receivable lines with
        # their payments, currencies, companies, partners, the euro and the
        # rates converting the indemnity from euros
        self.assertLessEqual(counts[2], 11)

    def test_reference_rates(self):
        Rate = self.env["kpulse.dunning.rate"]
        # Before the first rate: unknown, not 0 (see TestPenaltyBreakdown).
        self.assertIsNone(Rate._get_rate(date(2021, 12, 31)))
        self.assertEqual(Rate._get_rate(date(2023, 6, 30)), 2.5)
        self.assertEqual(Rate._get_rate(date(2023, 7, 1)), 4.0)
        self.assertEqual(Rate._get_rate(date(2026, 6, 15)), 2.15)
        # A new rate is used at once (the cached table is cleared).
        Rate.create({"date_from": "2026-07-01", "rate": 1.9})
        self.assertEqual(
            Rate._get_rates([date(2026, 6, 30), date(2026, 7, 1)]),
            {date(2026, 6, 30): 2.15, date(2026, 7, 1): 1.9},
        )
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                Rate.create({"date_from": "2026-07-01", "rate": 2.0})

    def test_settings_and_views(self):
        admin = self.env.ref("base.user_admin")
        Settings = self.env["res.config.settings"].with_user(admin)
        arch = Settings.get_views([(False, "form")])["views"]["form"]["arch"]
        for field_name in (
            "kpulse_penalty_apply",
            "kpulse_penalty_rate_mode",
            "kpulse_penalty_margin",
            "kpulse_penalty_fixed_rate",
            "kpulse_indemnity_amount",
        ):
            self.assertIn(field_name, arch)
        with Form(Settings) as form:
            form.kpulse_penalty_rate_mode = "fixed"
            form.kpulse_penalty_fixed_rate = 12.0
            form.kpulse_indemnity_amount = 50.0
        form.record.execute()
        self.assertEqual(admin.company_id.kpulse_penalty_rate_mode, "fixed")
        self.assertEqual(admin.company_id.kpulse_penalty_fixed_rate, 12.0)
        self.assertEqual(admin.company_id.kpulse_indemnity_amount, 50.0)

        views = self.env["kpulse.dunning.rate"].get_views(
            [(False, "list"), (False, "search")]
        )
        self.assertEqual(set(views["views"]), {"list", "search"})
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_rate_action"
        )
        self.assertEqual(action["res_model"], "kpulse.dunning.rate")
        self.assertTrue(self.env.ref("kpulse_dunning.kpulse_dunning_rate_menu").action)
        self.assertTrue(self.level_2.show_penalties)
        self.assertTrue(self.level_3.show_penalties)
        self.assertFalse(self.level_1.show_penalties)
        partner_arch = self.env["res.partner"].get_views([(False, "form")])["views"][
            "form"
        ]["arch"]
        self.assertIn("kpulse_penalty_excluded", partner_arch)
        self.assertIn("kpulse_is_professional", partner_arch)
        self.assertIn("kpulse_penalty_category", partner_arch)
        self.assertIn("kpulse_missing_rates_warning", arch)
        # A company is professional by default; an individual is not.
        self.assertTrue(self.customer.kpulse_is_professional)
        self.assertFalse(self.consumer.kpulse_is_professional)

    def test_negative_settings_refused(self):
        Settings = self.env["res.config.settings"].with_user(
            self.env.ref("base.user_admin")
        )
        with (
            self.assertRaisesRegex(ValidationError, "Margin.*cannot be negative"),
            self.env.cr.savepoint(),
        ):
            Settings.create({"kpulse_penalty_margin": -1.0}).execute()
        for field_name, label in (
            ("kpulse_penalty_fixed_rate", "Contractual rate"),
            ("kpulse_indemnity_amount", "Fixed indemnity"),
        ):
            with (
                self.assertRaisesRegex(ValidationError, f"{label}.*cannot be negative"),
                self.env.cr.savepoint(),
            ):
                self.company.write({field_name: -0.01})
        self.assertEqual(self.company.kpulse_penalty_margin, 10.0)

    def test_totals_stored_on_the_reminder(self):
        first = self._invoice("2026-05-16", 1000.0)
        # 400.00 paid today: 30 days on 1000.00: 9.99
        self._pay(first, 400.0)
        second = self._invoice("2026-04-16", 500.0)  # 60 days: 9.99
        dunning = self._create_dunnings(first | second, grouping="partner")
        self.env.invalidate_all()
        self.assertEqual(
            dunning.line_ids.sorted("amount_residual").mapped("amount_residual"),
            [500.0, 600.0],
        )
        self.assertEqual(dunning.amount_residual, 1100.0)
        self.assertEqual(dunning.penalty_total, 19.98)
        self.assertEqual(dunning.indemnity_total, 80.0)
        self.assertEqual(dunning.amount_claimed, 1199.98)
        self.assertEqual(
            self.env["kpulse.dunning"].search([("amount_claimed", "=", 1199.98)]),
            dunning,
        )
        # A payment lowers the amount due and the total claimed; the
        # penalties stay as at the reminder date.
        self._pay(second)
        self.assertEqual(dunning.amount_residual, 600.0)
        self.assertEqual(dunning.penalty_total, 19.98)
        self.assertEqual(dunning.amount_claimed, 699.98)
