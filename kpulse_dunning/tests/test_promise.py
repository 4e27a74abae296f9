"""Promises to pay: recorded from a reminder or a customer, they hold the
automatic runs until kept or broken."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

AUTO_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_automatic"
PROMISE_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_promise_check"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestPromise(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.level_1.automatic = True
        cls.level_2.automatic = True
        company = cls.env.company
        company.kpulse_auto_min_gap_days = 7
        company.kpulse_auto_min_amount = 0.0
        cls.customer.kpulse_followup_user_id = cls.billing_user
        # Reminded at level 1 ten days ago; 30 days late, level 2 is due.
        cls.invoice = cls._overdue_invoice(30, 500.0)
        cls.dunning = cls._create_dunnings(cls.invoice)
        cls.dunning.write({"state": "sent", "sent_date": TODAY - timedelta(days=10)})
        cls.other_invoice = cls._overdue_invoice(30, 400.0, partner=cls.customer_2)
        cls.Promise = cls.env["kpulse.dunning.promise"]

    def _record(self, dunning=None, partner=None, **values):
        """Record a promise as the billing user, through the form the button
        opens; return it."""
        if dunning:
            action = dunning.with_user(self.billing_user).action_promise_to_pay()
        else:
            action = partner.with_user(self.billing_user).action_kpulse_promise_to_pay()
        form = Form(
            self.Promise.with_user(self.billing_user).with_context(**action["context"])
        )
        form.date = values.pop("date", TODAY + timedelta(days=5))
        for name, value in values.items():
            setattr(form, name, value)
        return form.save().with_env(self.env)

    def _run_cron(self, xmlid):
        with self.mock_mail_gateway(), self.enter_registry_test_mode():
            self.env.ref(xmlid).method_direct_trigger()

    def test_record_from_reminder(self):
        self.customer.kpulse_reply_pending = True
        promise = self._record(self.dunning, note="Transfer next week")
        self.assertEqual(promise.partner_id, self.customer)
        self.assertEqual(promise.dunning_id, self.dunning)
        self.assertEqual(promise.move_ids, self.invoice)
        self.assertEqual(promise.amount, 500.0, "the amount due by default")
        self.assertEqual(promise.amount_due_at_promise, 500.0)
        self.assertEqual(promise.amount_paid, 0.0)
        self.assertEqual(promise.user_id, self.billing_user, "the responsible")
        self.assertEqual(promise.company_id, self.env.company)
        self.assertEqual(promise.state, "running")
        self.assertFalse(self.customer.kpulse_reply_pending, "the reply is handled")
        note = self.dunning.message_ids.filtered(
            lambda m: "Promise to pay" in (m.body or "")
        )
        self.assertEqual(len(note), 1, "a note on the reminder")
        self.assertIn("Transfer next week", note.body)
        self.assertEqual(self.dunning.promise_running_id, promise)
        self.assertEqual(self.dunning.promise_count, 1)
        self.assertEqual(self.customer.kpulse_promise_count, 1)

    def test_record_from_customer(self):
        """From the customer: all its open invoices of the company; a contact
        records it for the company."""
        second = self._overdue_invoice(5, 200.0)
        contact = self.env["res.partner"].create(
            {"name": "Paul Dupont", "parent_id": self.customer.id}
        )
        promise = self._record(partner=contact, amount=300.0)
        self.assertEqual(promise.partner_id, self.customer)
        self.assertEqual(promise.move_ids, self.invoice | second)
        self.assertEqual(promise.amount, 300.0)
        self.assertEqual(promise.amount_due_at_promise, 700.0)
        self.assertFalse(promise.dunning_id)
        self.assertTrue(
            self.customer.message_ids.filtered(
                lambda m: "Promise to pay" in (m.body or "")
            ),
            "a note on the customer",
        )
        # The customer's button now opens the running promise.
        action = self.customer.with_user(
            self.billing_user
        ).action_kpulse_promise_to_pay()
        self.assertEqual(action["res_id"], promise.id)

    def test_second_click_refused(self):
        promise = self._record(self.dunning)
        with self.assertRaisesRegex(UserError, "already promised"):
            self.dunning.with_user(self.billing_user).action_promise_to_pay()
        # Even past the button (a second user, an import): no second one.
        with self.assertRaisesRegex(UserError, "one running promise"):
            self.Promise.with_user(self.billing_user).create(
                {
                    "partner_id": self.customer.id,
                    "date": TODAY + timedelta(days=3),
                }
            )
        self.assertEqual(
            self.Promise.search_count([("partner_id", "=", self.customer.id)]), 1
        )
        # Once cancelled, a new promise can be recorded.
        promise.with_user(self.billing_user).action_cancel()
        self.assertEqual(promise.state, "cancel")
        with self.assertRaisesRegex(UserError, "Only running"):
            promise.with_user(self.billing_user).action_cancel()
        self.assertEqual(self._record(self.dunning).state, "running")

    def test_wrong_input(self):
        self._assert_refused(
            ValidationError,
            "in the past",
            self._record,
            self.dunning,
            date=TODAY - timedelta(days=1),
        )
        self._assert_refused(
            ValidationError, "must be positive", self._record, self.dunning, amount=0.0
        )
        nobody = self.env["res.partner"].create({"name": "No Invoice"})
        self._assert_refused(
            ValidationError,
            "no open invoice",
            self._record,
            partner=nobody,
            amount=10.0,
        )
        self.assertFalse(self.Promise.search([]), "nothing saved")
        promise = self._record(self.dunning)
        with self.assertRaisesRegex(UserError, "do not change"):
            promise.with_user(self.billing_user).move_ids = self.other_invoice

    def _assert_refused(self, exception, message, func, *args, **kwargs):
        # assertRaises, unlike assertRaisesRegex, rolls back what was saved
        # before the error, as the request would be.
        with self.assertRaises(exception) as caught:
            func(*args, **kwargs)
        self.assertIn(message, str(caught.exception))

    def test_automatic_run_skips_promised_customer(self):
        Move = self.env["account.move"]
        self.assertTrue(self.invoice.kpulse_auto_next)
        self._record(self.dunning)
        self.invoice.invalidate_recordset()
        self.assertFalse(self.invoice.kpulse_auto_next)
        self.assertTrue(self.other_invoice.kpulse_auto_next)
        self.assertEqual(
            Move.search([("kpulse_promise_running", "=", True)]), self.invoice
        )
        self.assertIn(
            self.other_invoice, Move.search([("kpulse_promise_running", "=", False)])
        )
        # New reminders says why.
        self.assertRegex(
            self.invoice.kpulse_promise_reason, r"^Promised to pay .*500\.00.* by "
        )
        self.assertFalse(self.other_invoice.kpulse_promise_reason)
        self._run_cron(AUTO_CRON)
        Dunning = self.env["kpulse.dunning"]
        self.assertEqual(
            Dunning.search([("move_ids", "in", self.invoice.ids)]), self.dunning
        )
        self.assertEqual(
            Dunning.search([("move_ids", "in", self.other_invoice.ids)]).level_id,
            self.level_2,
        )

    def test_promise_kept(self):
        """Paid before the date: kept at once, and the date passing changes
        nothing."""
        promise = self._record(self.dunning, amount=300.0)
        with freeze_time(TODAY + timedelta(days=2)):
            self._pay(self.invoice, 200.0)
            self.assertEqual(promise.state, "running", "200 of 300 paid")
            self.assertEqual(promise.amount_paid, 200.0)
            self._pay(self.invoice, 100.0)
            self.assertEqual(promise.state, "kept", "kept on its own")
        with freeze_time(TODAY + timedelta(days=6)):
            self._run_cron(PROMISE_CRON)
            self.assertEqual(promise.state, "kept")
            self.assertFalse(promise.activity_ids)
            # Reminders resume for the 200 still due, at the next level.
            self.invoice.invalidate_recordset()
            self.assertTrue(self.invoice.kpulse_auto_next)

    def test_promise_kept_by_the_daily_check(self):
        promise = self._record(self.dunning)
        self._pay(self.invoice)
        promise.state = "running"  # as if paid outside reconciliation's hook
        self._run_cron(PROMISE_CRON)
        self.assertEqual(promise.state, "kept")

    def test_promise_broken(self):
        """The date passed, not paid: broken, the responsible has an activity,
        the chatter says so, and the next automatic run reminds at the next
        level."""
        promise = self._record(self.dunning)
        self._pay(self.invoice, 100.0)
        with freeze_time(TODAY + timedelta(days=5)):
            self._run_cron(PROMISE_CRON)
            self.assertEqual(promise.state, "running", "the promised day itself")
        with freeze_time(TODAY + timedelta(days=6)):
            self._run_cron(PROMISE_CRON)
            self.assertEqual(promise.state, "broken")
            activity = promise.activity_ids
            self.assertEqual(len(activity), 1)
            self.assertEqual(activity.user_id, self.billing_user)
            self.assertEqual(
                activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo")
            )
            for record in (promise, self.dunning):
                self.assertTrue(
                    record.message_ids.filtered(lambda m: "broken" in (m.body or "")),
                    f"a note on {record._name}",
                )
            self.invoice.invalidate_recordset()
            self.assertFalse(self.invoice.kpulse_promise_reason)
            self.assertTrue(self.invoice.kpulse_auto_next)
            self._run_cron(AUTO_CRON)
            reminder = self.env["kpulse.dunning"].search(
                [("move_ids", "in", self.invoice.ids), ("id", "!=", self.dunning.id)]
            )
            self.assertEqual(reminder.level_id, self.level_2, "the next level")
            # Checked again: nothing more.
            self._run_cron(PROMISE_CRON)
            self.assertEqual(len(promise.activity_ids), 1)

    def test_check_now(self):
        promise = self._record(self.dunning)
        with freeze_time(TODAY + timedelta(days=6)):
            promise.with_user(self.billing_user).action_check()
            self.assertEqual(promise.state, "broken")
            with self.assertRaisesRegex(UserError, "Only running"):
                promise.with_user(self.billing_user).action_check()

    def test_salesman_access(self):
        company = self.env.company
        salesman = new_test_user(
            self.env,
            login="kpulse_promise_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        other_salesman = new_test_user(
            self.env,
            login="kpulse_promise_other_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        self.invoice.invoice_user_id = salesman
        self.other_invoice.invoice_user_id = other_salesman
        mine = self._record(self.dunning)
        theirs = self._record(partner=self.customer_2)
        Promise = self.Promise.with_user(salesman)
        self.assertEqual(Promise.search([]), mine)
        with self.assertRaises(AccessError):
            theirs.with_user(salesman).read(["amount"])
        with self.assertRaises(AccessError):
            Promise.create(
                {"partner_id": self.customer.id, "date": TODAY + timedelta(days=1)}
            )
        with self.assertRaises(AccessError):
            mine.with_user(salesman).write({"amount": 1.0})
        # The customer's button opens the promise he may read, and records
        # none for him.
        action = self.customer.with_user(salesman).action_kpulse_promise_to_pay()
        self.assertEqual(action["res_id"], mine.id)
        with self.assertRaises(AccessError):
            self.customer_2.with_user(salesman).action_kpulse_promise_to_pay()
        # His invoice of that customer: the reason, without the amount of a
        # promise he may not read.
        own = self._overdue_invoice(
            20, 150.0, partner=self.customer_2, invoice_user_id=salesman.id
        ).with_user(salesman)
        self.assertTrue(own.kpulse_promise_running)
        self.assertRegex(own.kpulse_promise_reason, r"^Promised to pay by ")
        self.assertRegex(
            self.invoice.with_user(salesman).kpulse_promise_reason,
            r"^Promised to pay .*500\.00.* by ",
        )

    def test_other_company(self):
        """A promise holds its own company's invoices only, and is seen in
        its company only."""
        other = self.setup_other_company()["company"]
        elsewhere = self._overdue_invoice(30, 300.0, company_id=other.id)
        self._record(self.dunning)
        Move = self.env["account.move"].with_context(
            allowed_company_ids=(self.env.company | other).ids
        )
        both = Move.browse((self.invoice | elsewhere).ids)
        self.assertEqual(
            Move.search(
                [("id", "in", both.ids), ("kpulse_promise_running", "=", True)]
            ),
            self.invoice,
        )
        self.assertEqual(both.filtered("kpulse_promise_running"), self.invoice)
        other_user = new_test_user(
            self.env,
            login="kpulse_promise_other_company",
            groups="account.group_account_invoice",
            company_id=other.id,
            company_ids=other.ids,
        )
        self.assertFalse(self.Promise.with_user(other_user).search([]))

    def test_reason_queries_do_not_grow(self):
        """The reasons of a whole list cost the same queries for 2 invoices
        or 20."""
        self._record(self.dunning)
        self._record(partner=self.customer_2)
        few = self.invoice | self.other_invoice
        many = few | self.env["account.move"].union(
            *(self._overdue_invoice(10 + i, 100.0) for i in range(18))
        )
        self._reason_queries(many)  # caches of the first read (rules, formats)
        self.assertEqual(self._reason_queries(few), self._reason_queries(many))
        self.assertEqual(len(many.filtered("kpulse_promise_running")), 20)

    def _reason_queries(self, moves):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        moves.mapped("kpulse_promise_reason")
        return self.env.cr.sql_log_count - before


@tagged("post_install", "-at_install")
class TestPromiseUi(AccountTestInvoicingHttpCommon):
    def test_promise_tour(self):
        """Open a reminder, Promise to Pay, fill date and amount, save; the
        promise is listed."""
        company = self.env.company
        user = new_test_user(
            self.env,
            login="kpulse_promise_tour",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
            company_id=company.id,
            email="promise@example.com",
        )
        partner = self.env["res.partner"].create(
            {"name": "Tour Promise", "is_company": True, "email": "p@example.com"}
        )
        due = fields.Date.today() - timedelta(days=12)
        invoice = self._create_invoice(
            partner_id=partner.id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create({"name": "Service", "price_unit": 640.0, "tax_ids": []})
            ],
            post=True,
        )
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(invoice.ids)],
                "template_id": self.env.ref(
                    "kpulse_dunning.kpulse_dunning_template_1"
                ).id,
                "grouping": "invoice",
            }
        )
        dunning, _duplicates = wizard._create_dunnings()
        self.start_tour("/odoo", "kpulse_dunning_promise_tour", login=user.login)
        promise = self.env["kpulse.dunning.promise"].search(
            [("partner_id", "=", partner.id)]
        )
        self.assertEqual(len(promise), 1)
        self.assertEqual(promise.state, "running")
        self.assertEqual(promise.amount, 400.0)
        self.assertEqual(promise.date, fields.Date.today() + timedelta(days=7))
        self.assertEqual(promise.dunning_id, dunning)
        self.assertEqual(promise.move_ids, invoice)
        self.assertEqual(promise.note, "Will pay by transfer")
        self.assertEqual(promise.create_uid, user)
