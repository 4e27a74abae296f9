from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.kpulse_dunning.report.kpulse_customer_statement import AGING_BUCKETS

from .common import TODAY, KpulseDunningCommon

STATEMENT_MODEL = "report.kpulse_dunning.report_customer_statement"


class KpulseAnalysisCommon(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env,
            login="kpulse_analysis_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.env.company.id,
        )

    @classmethod
    def _invoice_on(cls, invoice_date, amount, partner=None, move_type="out_invoice"):
        """A posted invoice (or credit note) dated ``invoice_date``, due 30
        days later, without taxes."""
        return cls._create_invoice(
            move_type=move_type,
            partner_id=(partner or cls.customer).id,
            invoice_date=invoice_date,
            invoice_date_due=invoice_date + timedelta(days=30),
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create(
                    {"name": "Consulting", "price_unit": amount, "tax_ids": []}
                )
            ],
            post=True,
        )

    @classmethod
    def _pay_on(cls, invoice, payment_date, amount=None):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "amount": amount or invoice.amount_residual,
                    "payment_date": payment_date,
                }
            )
            ._create_payments()
        )


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestReceivableAging(KpulseAnalysisCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        invoice = cls._overdue_invoice
        # The customer's open items and their buckets on TODAY (2026-06-15).
        cls.invoices = {
            "due_in_10_days": invoice(-10, 100.10),  # not due
            "due_today": invoice(0, 200.20),  # not due
            "late_1": invoice(1, 10.01),  # 1-30
            "late_30": invoice(30, 20.02),  # 1-30
            "late_31": invoice(31, 31.31),  # 31-60
            "partly_paid_45": invoice(45, 300.00),  # 31-60, 200.01 left
            "late_61": invoice(61, 61.61),  # 61-90
            "late_90": invoice(90, 90.09),  # 61-90
            "late_91": invoice(91, 91.19),  # over 90
        }
        cls.refund = invoice(15, 50.05, move_type="out_refund")  # 1-30, -50.05
        cls._pay(cls.invoices["partly_paid_45"], 99.99)
        # Neither paid nor draft invoices are open.
        cls.paid = invoice(40, 77.77)
        cls._pay(cls.paid)
        cls.draft = invoice(40, 88.88, post=False)
        # Another customer's invoice, of the salesman.
        cls.other = invoice(10, 500.00, partner=cls.customer_2)
        cls.other.invoice_user_id = cls.salesman
        cls.Aging = cls.env["kpulse.receivable.aging"]

    def _totals(self, aging, groupby, domain=None):
        return {
            group: round(amount, 2)
            for group, amount in aging._read_group(
                domain or [], [groupby], ["amount:sum"]
            )
        }

    def test_buckets_to_the_cent(self):
        by_bucket = self._totals(
            self.Aging, "bucket", [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(
            by_bucket,
            {
                "not_due": 300.30,  # 100.10 + 200.20
                "1_30": -20.02,  # 10.01 + 20.02 - 50.05
                "31_60": 231.32,  # 31.31 + (300.00 - 99.99)
                "61_90": 151.70,  # 61.61 + 90.09
                "over_90": 91.19,
            },
        )
        # The bucket columns of the list say the same, customer by customer.
        [row] = self.Aging._read_group(
            [("partner_id", "=", self.customer.id)],
            [],
            [
                "amount_not_due:sum",
                "amount_1_30:sum",
                "amount_31_60:sum",
                "amount_61_90:sum",
                "amount_over_90:sum",
                "amount_overdue:sum",
                "amount:sum",
            ],
        )
        self.assertEqual(
            [round(amount, 2) for amount in row],
            [300.30, -20.02, 231.32, 151.70, 91.19, 454.19, 754.49],
        )
        keys = [key for key, _last in AGING_BUCKETS]
        self.assertEqual(self.Aging._fields["bucket"].get_values(self.env), keys)
        # Grouped, the ages come in their order, not their keys'.
        self.assertEqual(
            [bucket for (bucket,) in self.Aging._read_group([], ["bucket"])], keys
        )
        sets = self.Aging._read_grouping_sets(
            [], [["partner_id", "bucket"], ["bucket"]], ["amount:sum"]
        )
        self.assertEqual([bucket for bucket, _amount in sets[1]], keys)

    def test_days_late_and_edges(self):
        rows = self.Aging.search([("partner_id", "=", self.customer.id)])
        by_move = {row.move_id: row for row in rows}
        for key, days, bucket in (
            ("due_in_10_days", 0, "not_due"),
            ("due_today", 0, "not_due"),
            ("late_1", 1, "1_30"),
            ("late_30", 30, "1_30"),
            ("late_31", 31, "31_60"),
            ("late_61", 61, "61_90"),
            ("late_90", 90, "61_90"),
            ("late_91", 91, "over_90"),
        ):
            row = by_move[self.invoices[key]]
            self.assertEqual((row.days_late, row.bucket), (days, bucket), key)
        self.assertNotIn(self.paid, by_move)
        self.assertNotIn(self.draft, by_move)
        self.assertEqual(by_move[self.refund].amount, -50.05)

    def test_totals_agree_with_residuals_and_statement(self):
        open_moves = self.env["account.move"].search(
            [
                ("move_type", "in", ("out_invoice", "out_refund")),
                ("state", "=", "posted"),
                ("company_id", "=", self.env.company.id),
                ("payment_state", "not in", ("paid", "in_payment", "reversed")),
            ]
        )
        residuals = {}
        for move in open_moves:
            partner = move.commercial_partner_id
            residuals[partner] = (
                residuals.get(partner, 0.0) + move.amount_residual_signed
            )
        self.assertEqual(
            self._totals(self.Aging, "partner_id"),
            {partner: round(amount, 2) for partner, amount in residuals.items()},
        )
        statements = self.env[STATEMENT_MODEL]._statements(
            self.customer | self.customer_2
        )
        for partner in self.customer | self.customer_2:
            totals = statements[partner.id]["totals"]
            by_bucket = self._totals(
                self.Aging, "bucket", [("partner_id", "=", partner.id)]
            )
            for key, _last in AGING_BUCKETS:
                self.assertAlmostEqual(
                    by_bucket.get(key, 0.0), totals[key], places=2, msg=key
                )
            self.assertAlmostEqual(sum(by_bucket.values()), totals["total"], places=2)

    def test_report_date(self):
        """The report date comes from the context: a day later the invoice
        due today is late; a day earlier, what was paid today is due."""
        tomorrow = self.Aging.with_context(
            kpulse_aging_date=fields.Date.to_string(TODAY + timedelta(days=1))
        )
        row = tomorrow.search([("move_id", "=", self.invoices["due_today"].id)])
        self.assertEqual((row.days_late, row.bucket), (1, "1_30"))
        yesterday = self.Aging.with_context(
            kpulse_aging_date=fields.Date.to_string(TODAY - timedelta(days=1))
        )
        rows = yesterday.search([("partner_id", "=", self.customer.id)])
        by_move = {row.move_id: row.amount for row in rows}
        self.assertEqual(by_move[self.invoices["partly_paid_45"]], 300.00)
        self.assertEqual(by_move[self.paid], 77.77)
        self.assertAlmostEqual(sum(by_move.values()), 754.49 + 99.99 + 77.77, 2)

    def test_level_responsible_country(self):
        self.customer.write(
            {
                "kpulse_followup_user_id": self.billing_user.id,
                "country_id": self.env.ref("base.fr").id,
            }
        )
        self.customer_2.user_id = self.salesman
        first = self._create_dunnings(self.invoices["late_31"])
        second = self._create_dunnings(
            self.invoices["late_61"], template=self.template_2
        )
        (first | second).write({"state": "sent", "sent_date": fields.Datetime.now()})
        rows = self.Aging.search([("partner_id", "=", self.customer.id)])
        self.assertEqual(rows.level_id, self.level_2)
        self.assertEqual(rows.user_id, self.billing_user)
        self.assertEqual(rows.country_id, self.env.ref("base.fr"))
        other = self.Aging.search([("partner_id", "=", self.customer_2.id)])
        self.assertFalse(other.level_id)
        self.assertEqual(other.user_id, self.salesman)
        self.assertEqual(
            self.Aging.search_count([("level_id", "=", self.level_2.id)]), len(rows)
        )

    def test_salesman_sees_own_documents(self):
        aging = self.Aging.with_user(self.salesman)
        self.assertEqual(aging.search([]).move_id, self.other)
        self.assertEqual(self._totals(aging, "partner_id"), {self.customer_2: 500.00})
        billing = self.Aging.with_user(self.billing_user)
        self.assertEqual(len(billing.search([])), 11)
        other_company = self.env["res.company"].create({"name": "Other Company"})
        stranger = new_test_user(
            self.env,
            login="kpulse_analysis_stranger",
            groups="account.group_account_invoice",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        self.assertFalse(self.Aging.with_user(stranger).search([]))

    def test_views_open(self):
        for model in ("kpulse.receivable.aging", "kpulse.dunning.analysis"):
            views = self.env[model].get_views(
                [(False, "list"), (False, "pivot"), (False, "graph"), (False, "search")]
            )
            self.assertEqual(
                set(views["views"]), {"list", "pivot", "graph", "search"}, model
            )
        dashboard = self.env.ref(
            "kpulse_dunning.res_company_view_kanban_kpulse_dashboard"
        )
        self.env["res.company"].get_views([(dashboard.id, "kanban")])
        self.env["kpulse.dunning.dso.period"].get_views([(False, "form")])
        self.env["res.partner"].get_views([(False, "form")])
        action = self.customer.action_kpulse_open_aging()
        self.assertEqual(action["domain"], [("partner_id", "=", self.customer.id)])
        self.assertEqual(len(self.Aging.search(action["domain"])), 10)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningAnalysis(KpulseAnalysisCommon):
    """Reminders sent and paid on hand-made dates, seen on TODAY (06-15):

    ============  =====  =======  ==========  ====  ===========  ===========
    reminder      level  amount   sent        paid  paid ≤ 15 d  paid ≤ 30 d
    ============  =====  =======  ==========  ====  ===========  ===========
    r1            1      1000.00  05-01       05-10 100          100
    r2            1      2000.00  05-01       05-25 0            100
    r3            1      3000.00  05-01       -     0            0
    r4            1       600.00  (draft)     -     -            -
    r5            2      4000.00  06-10       -     - (too soon) - (too soon)
    r6            2       500.00  05-20       05-24 100          - (too soon)
    ============  =====  =======  ==========  ====  ===========  ===========
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        invoice = cls._overdue_invoice
        cls.moves = {
            name: invoice(days_late, amount)
            for name, days_late, amount in (
                ("r1", 80, 1000.00),
                ("r2", 80, 2000.00),
                ("r3", 80, 3000.00),
                ("r4", 80, 600.00),
                ("r5", 80, 4000.00),
                ("r6", 80, 500.00),
            )
        }
        cls.moves["r1"].invoice_user_id = cls.salesman
        cls.dunnings = {}
        for name, move in cls.moves.items():
            template = cls.template_2 if name in ("r5", "r6") else cls.template_1
            cls.dunnings[name] = cls._create_dunnings(move, template=template)
        for name, sent in (
            ("r1", date(2026, 5, 1)),
            ("r2", date(2026, 5, 1)),
            ("r3", date(2026, 5, 1)),
            ("r5", date(2026, 6, 10)),
            ("r6", date(2026, 5, 20)),
        ):
            cls.dunnings[name].write(
                {
                    "state": "sent",
                    "date": sent,
                    "sent_date": datetime.combine(sent, datetime.min.time())
                    + timedelta(hours=10),
                }
            )
        for name, paid in (
            ("r1", date(2026, 5, 10)),
            ("r2", date(2026, 5, 25)),
            ("r6", date(2026, 5, 24)),
        ):
            cls._pay_on(cls.moves[name], paid)
        cls.Analysis = cls.env["kpulse.dunning.analysis"]

    def _row(self, name):
        return self.Analysis.search([("dunning_id", "=", self.dunnings[name].id)])

    def test_paid_within(self):
        expected = {
            "r1": (100.0, 100.0, 9.0, date(2026, 5, 10)),
            "r2": (0.0, 100.0, 24.0, date(2026, 5, 25)),
            "r3": (0.0, 0.0, False, False),
            "r4": (False, False, False, False),
            "r5": (False, False, False, False),
            "r6": (100.0, False, 4.0, date(2026, 5, 24)),
        }
        for name, values in expected.items():
            row = self._row(name)
            self.assertEqual(
                (row.paid_15, row.paid_30, row.days_to_pay, row.paid_date),
                values,
                name,
            )
        # r5 is 5 days old: 16 days after its sending, it counts as not
        # paid within 15 days; its 30 days are not over yet.
        later = self.Analysis.with_context(kpulse_analysis_date="2026-06-26")
        row = later.search([("dunning_id", "=", self.dunnings["r5"].id)])
        self.assertEqual((row.paid_15, row.paid_30), (0.0, False))

    def test_by_level(self):
        groups = self.Analysis._read_group(
            [],
            ["level_id"],
            [
                "__count",
                "amount_reminded:sum",
                "paid_15:avg",
                "paid_30:avg",
                "days_to_pay:avg",
            ],
        )
        figures = {
            level: (
                count,
                amount,
                round(paid_15, 2),
                # No reminder old enough: no value (None or False).
                round(paid_30, 2) if paid_30 else False,
                days,
            )
            for level, count, amount, paid_15, paid_30, days in groups
        }
        self.assertEqual(
            figures,
            {
                # (100 + 0 + 0) / 3, (100 + 100 + 0) / 3, (9 + 24) / 2
                self.level_1: (4, 6600.00, 33.33, 66.67, 16.5),
                # r6 only; no reminder of level 2 is 30 days old.
                self.level_2: (2, 4500.00, 100.00, False, 4.0),
            },
        )

    def test_dimensions(self):
        row = self._row("r1")
        self.assertEqual(row.channel, "email")
        self.assertEqual(row.sent_date, date(2026, 5, 1))
        self.assertEqual(row.state, "sent")
        self.assertEqual(row.user_id, self.dunnings["r1"].user_id)
        self.assertEqual(self._row("r4").state, "draft")
        self.level_1.action_letter = True
        self.env.invalidate_all()
        self.assertEqual(self._row("r1").channel, "email_post")
        months = dict(
            self.Analysis._read_group(
                [("sent_date", "!=", False)], ["sent_date:month"], ["__count"]
            )
        )
        self.assertEqual(
            {month.month: count for month, count in months.items()}, {5: 4, 6: 1}
        )

    def test_salesman_sees_own_documents(self):
        analysis = self.Analysis.with_user(self.salesman)
        self.assertEqual(analysis.search([]).dunning_id, self.dunnings["r1"])
        # A reminder that also claims another salesperson's invoice is hidden.
        shared = self._overdue_invoice(80, 700.00) | self._overdue_invoice(81, 800.00)
        shared[0].invoice_user_id = self.salesman
        both = self._create_dunnings(shared, grouping="partner")
        self.assertEqual(len(both), 1)
        self.assertTrue(self.Analysis.search([("dunning_id", "=", both.id)]))
        self.assertFalse(analysis.search([("dunning_id", "=", both.id)]))
        self.assertEqual(self.Analysis.with_user(self.billing_user).search_count([]), 7)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDso(KpulseAnalysisCommon):
    """DSO by the countback method on TODAY (E = 2026-06-15), last 3 months.

    Months: m0 05-16..06-15 (31 days), m1 04-16..05-15 (30 days),
    m2 03-16..04-15 (31 days): 92 days.

    Brasserie Dupont (customer):
      invoice 3,100.00 on 06-01 (m0), open;
      invoice 6,000.00 on 05-01 (m1), 4,000.00 paid on 05-20: 2,000.00 due;
      credit note 1,500.00 on 05-10 (m1), open: -1,500.00;
      invoice 9,300.00 on 04-01 (m2), paid on 04-20.
      B = 3,100 + 2,000 - 1,500 = 3,600.
      Sales m0 = 3,100; m1 = 6,000 - 1,500 = 4,500; m2 = 9,300.
      m0: 3,600 >= 3,100 -> 31 days, 500 left;
      m1: 500 < 4,500 -> 30 x 500 / 4,500 = 3.33 days.  DSO = 34.33.
    Atelier Martin (customer_2):
      invoice 1,000.00 on 02-10 (before the period), open;
      invoice 2,000.00 on 06-10 (m0), open.
      B = 3,000. m0: 3,000 >= 2,000 -> 31, 1,000 left; m1, m2: no sales,
      1,000 left -> 30 + 31. B covers all the sales: DSO = 92 (the period).
    Café Paul (customer_3): invoice 1,100.00 on 06-05, paid on 06-10.
      B = 0: DSO = 0.
    The company: B = 3,600 + 3,000 = 6,600.
      Sales m0 = 3,100 + 2,000 + 1,100 = 6,200; m1 = 4,500; m2 = 9,300.
      m0: 6,600 >= 6,200 -> 31 days, 400 left;
      m1: 30 x 400 / 4,500 = 2.67 days.  DSO = 33.67.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_3 = cls.env["res.partner"].create(
            {"name": "Café Paul", "is_company": True}
        )
        on = cls._invoice_on
        cls.inv_a0 = on(date(2026, 6, 1), 3100.00)
        cls.inv_a1 = on(date(2026, 5, 1), 6000.00)
        cls._pay_on(cls.inv_a1, date(2026, 5, 20), 4000.00)
        cls.refund_a1 = on(date(2026, 5, 10), 1500.00, move_type="out_refund")
        cls.inv_a2 = on(date(2026, 4, 1), 9300.00)
        cls._pay_on(cls.inv_a2, date(2026, 4, 20))
        cls.inv_b_old = on(date(2026, 2, 10), 1000.00, partner=cls.customer_2)
        cls.inv_b0 = on(date(2026, 6, 10), 2000.00, partner=cls.customer_2)
        cls.inv_c0 = on(date(2026, 6, 5), 1100.00, partner=cls.customer_3)
        cls._pay_on(cls.inv_c0, date(2026, 6, 10))
        cls.Dso = cls.env["kpulse.dunning.dso"]
        cls.company = cls.env.company

    def test_windows(self):
        self.assertEqual(
            self.Dso._dso_windows(TODAY, 3),
            [
                (0, date(2026, 5, 16), date(2026, 6, 15), 31),
                (1, date(2026, 4, 16), date(2026, 5, 15), 30),
                (2, date(2026, 3, 16), date(2026, 4, 15), 31),
            ],
        )
        # Month ends stay month ends (03-31 -> 02-28 -> 01-31).
        self.assertEqual(
            [days for *_dates, days in self.Dso._dso_windows(date(2026, 3, 31), 2)],
            [31, 28],
        )

    def test_countback_per_customer(self):
        customers = self.customer | self.customer_2 | self.customer_3
        figures = self.Dso._dso(self.company, partners=customers)
        by_partner = {
            partner_id: (round(f["balance"], 2), round(f["sales"], 2), f["dso"])
            for (_company, partner_id), f in figures.items()
        }
        self.assertEqual(
            by_partner,
            {
                self.customer.id: (3600.00, 16900.00, 34.33),
                self.customer_2.id: (3000.00, 2000.00, 92.00),
                self.customer_3.id: (0.00, 1100.00, 0.00),
            },
        )
        self.assertEqual(self.customer.kpulse_dso, 34.33)
        self.assertEqual(self.customer_2.kpulse_dso, 92.00)
        self.assertEqual(self.customer_3.kpulse_dso, 0.0)

    def test_countback_per_company(self):
        figures = self.Dso._dso(self.company)
        self.assertEqual(figures[self.company.id, 0]["dso"], 33.67)
        self.assertEqual(figures[self.company.id, 0]["balance"], 6600.00)
        self.assertEqual(self.company.kpulse_dso, 33.67)
        self.assertEqual(self.company.kpulse_receivable_open, 6600.00)
        action = self.env["res.company"]._kpulse_dashboard_action()
        self.assertEqual(action["domain"], [("id", "in", self.env.companies.ids)])

    def test_aging_shows_customer_dso(self):
        rows = self.env["kpulse.receivable.aging"].search(
            [("partner_id", "in", (self.customer | self.customer_2).ids)]
        )
        self.assertEqual(
            {(row.partner_id, row.partner_dso) for row in rows},
            {(self.customer, 34.33), (self.customer_2, 92.00)},
        )

    def test_period_from_context(self):
        """On 05-15 over 2 months: B is what was due on 05-15 (the payment
        of 05-20 is not yet there, the invoice of 06-01 not yet issued):
        6,000 - 1,500 = 4,500 against m0 (04-16..05-15) sales of 4,500: the
        30 days of m0; nothing left for m1 (03-16..04-15): DSO = 30."""
        period = self.env["kpulse.dunning.dso.period"].create(
            {"date_to": date(2026, 5, 15), "months": 2}
        )
        context = period.action_open_dashboard()["context"]
        self.assertEqual(
            context, {"kpulse_dso_date": "2026-05-15", "kpulse_dso_months": 2}
        )
        customer = self.customer.with_context(**context)
        self.assertEqual(customer.kpulse_dso, 30.00)
        figures = self.Dso.with_context(**context)._dso(
            self.company, partners=self.customer
        )
        self.assertEqual(figures[self.company.id, self.customer.id]["balance"], 4500.0)
        aging = period.action_open_aging()
        self.assertEqual(aging["context"]["kpulse_dso_months"], 2)
        # The aging on today shows the DSO of that period.
        rows = (
            self.env["kpulse.receivable.aging"]
            .with_context(**aging["context"])
            .search([("partner_id", "=", self.customer.id)])
        )
        self.assertEqual(len(rows), 3)
        self.assertEqual(set(rows.mapped("partner_dso")), {30.0})

    def test_months_checked(self):
        for months in (0, 25):
            with self.assertRaises(ValidationError):
                self.env["kpulse.dunning.dso.period"].create({"months": months})
        with self.assertRaises(ValidationError):
            self.Dso.with_context(kpulse_dso_months="many")._dso(self.company)

    def test_salesman_counts_own_invoices(self):
        """A salesman with own documents only: B = 3,100 (his invoice), m0
        sales = 3,100 -> 31 days, nothing left: DSO = 31."""
        self.inv_a0.invoice_user_id = self.salesman
        partner = self.customer.with_user(self.salesman)
        self.assertEqual(partner.kpulse_dso, 31.00)


@tagged("post_install", "-at_install")
class TestAnalysisUi(AccountTestInvoicingHttpCommon):
    # Wide enough for every section of the Sales app in the navbar.
    browser_size = "1920x1080"

    def test_analysis_tour(self):
        """Open Reminder Analysis > Aging, switch to pivot, then Reminder
        Analysis > Reminders, as a billing user."""
        user = new_test_user(
            self.env,
            login="kpulse_analysis_tour",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
            company_id=self.env.company.id,
        )
        partner = self.env["res.partner"].create(
            {"name": "Tour Aging Customer", "is_company": True}
        )
        due = fields.Date.today() - timedelta(days=45)
        invoice = self._create_invoice(
            partner_id=partner.id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create({"name": "Service", "price_unit": 1234.0, "tax_ids": []})
            ],
            post=True,
        )
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(invoice.ids)],
                "template_id": self.env.ref(
                    "kpulse_dunning.kpulse_dunning_template_1"
                ).id,
            }
        )
        dunning, _duplicates = wizard._create_dunnings()
        dunning.write({"state": "sent", "sent_date": fields.Datetime.now()})
        self.start_tour("/odoo", "kpulse_dunning_analysis_tour", login=user.login)
