"""Follow-up responsible and customer replies (issue items 3 and 4)."""

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon
from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

AUTO_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_automatic"
REPLY_TYPE = "kpulse_dunning.mail_activity_type_kpulse_reply"

# A customer's answer as a mail client sends it: a reply to the reminder's
# e-mail (In-Reply-To and References carry its Message-Id), written to its
# Reply-To address.
REPLY_TEMPLATE = """Return-Path: {return_path}
To: {to}
cc: {cc}
From: {email_from}
Subject: {subject}
MIME-Version: 1.0
Date: {date}
Message-ID: {msg_id}
In-Reply-To: {references}
References: {references}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
{extra}
Hello,

{body}

Regards,
Accounting, Brasserie Dupont
"""


def _reply(case, mail, email_from, body="We paid invoice 1 by bank transfer."):
    """Process, through Odoo's mail gateway, the answer of ``email_from``
    to the reminder e-mail ``mail`` (a mail.mail)."""
    case.format_and_process(
        REPLY_TEMPLATE,
        email_from,
        mail.reply_to,
        subject=f"Re: {mail.subject}",
        references=mail.message_id,
        body=body,
        date="Mon, 15 Jun 2026 09:30:00 +0000",
        target_model="kpulse.dunning",
        target_field="name",
    )


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestFollowupResponsible(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.salesman = new_test_user(
            cls.env,
            login="kpulse_followup_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        cls.accountant = new_test_user(
            cls.env,
            login="kpulse_followup_default",
            groups="account.group_account_invoice",
            company_id=company.id,
        )
        cls.customer_3 = cls.env["res.partner"].create(
            {"name": "Nobody's Customer", "is_company": True, "email": "n@example.com"}
        )

    def test_followup_users_chain(self):
        """The responsible, else the salesperson, else the company default;
        a contact follows its company."""
        company = self.env.company
        Partner = self.env["res.partner"]
        self.customer.kpulse_followup_user_id = self.billing_user
        self.customer.user_id = self.salesman
        self.customer_2.user_id = self.salesman
        contact = Partner.create({"name": "Paul", "parent_id": self.customer.id})
        partners = self.customer | self.customer_2 | self.customer_3 | contact
        users = Partner._kpulse_followup_users(partners, company)
        self.assertEqual(users[self.customer.id], self.billing_user)
        self.assertEqual(users[self.customer_2.id], self.salesman)
        self.assertFalse(users[self.customer_3.id], "nobody follows it up")
        self.assertNotIn(contact.id, users, "keyed by commercial partner")
        company.kpulse_default_followup_user_id = self.accountant
        users = Partner._kpulse_followup_users(partners, company)
        self.assertEqual(users[self.customer_3.id], self.accountant)
        self.assertEqual(users[self.customer_2.id], self.salesman)

    def test_settings_default_responsible(self):
        settings = self.env["res.config.settings"].create(
            {"kpulse_default_followup_user_id": self.accountant.id}
        )
        settings.execute()
        self.assertEqual(
            self.env.company.kpulse_default_followup_user_id, self.accountant
        )

    def test_wizard_reminders_get_the_responsible(self):
        self.customer.kpulse_followup_user_id = self.billing_user
        self.customer_2.user_id = self.salesman
        invoices = (
            self._overdue_invoice(10)
            | self._overdue_invoice(11, partner=self.customer_2)
            | self._overdue_invoice(12, partner=self.customer_3)
        )
        dunnings = self._create_dunnings(invoices, grouping="partner")
        by_customer = {d.partner_id: d.user_id for d in dunnings}
        self.assertEqual(by_customer[self.customer], self.billing_user)
        self.assertEqual(by_customer[self.customer_2], self.salesman)
        self.assertEqual(
            by_customer[self.customer_3],
            self.env.user,
            "nobody follows it up: the user who creates the reminder",
        )
        self.env.company.kpulse_default_followup_user_id = self.accountant
        dunning = self._create_dunnings(
            self._overdue_invoice(13, partner=self.customer_3)
        )
        self.assertEqual(dunning.user_id, self.accountant)

    def test_automatic_run_reminders_get_the_responsible(self):
        """Not the superuser the cron runs as: the customer's responsible,
        or nobody."""
        self.level_1.automatic = True
        self.customer.kpulse_followup_user_id = self.billing_user
        self.customer_2.user_id = self.salesman
        invoices = (
            self._overdue_invoice(10)
            | self._overdue_invoice(10, partner=self.customer_2)
            | self._overdue_invoice(10, partner=self.customer_3)
        )
        with self.enter_registry_test_mode():
            self.env.ref(AUTO_CRON).method_direct_trigger()
        dunnings = self.env["kpulse.dunning"].search([("move_ids", "in", invoices.ids)])
        self.assertEqual(len(dunnings), 3)
        by_customer = {d.partner_id: d.user_id for d in dunnings}
        self.assertEqual(by_customer[self.customer], self.billing_user)
        self.assertEqual(by_customer[self.customer_2], self.salesman)
        self.assertFalse(by_customer[self.customer_3], "no one, not the superuser")
        self.assertNotIn(self.env.ref("base.user_root"), dunnings.user_id)

    def test_wizard_queries_do_not_grow_with_responsibles(self):
        """The responsibles of a batch are read at once: as many queries for
        2 customers as for 8, each with its own salesperson."""
        small = self._wizard_for_customers(2)
        large = self._wizard_for_customers(8)
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        small.action_create()
        self.env.flush_all()
        small_count = self.env.cr.sql_log_count - before
        self.env.invalidate_all()
        with self.assertQueryCount(small_count):
            large.action_create()
            self.env.flush_all()
        reminders = self.env["kpulse.dunning"].search(
            [("move_ids", "in", large.move_ids.ids)]
        )
        self.assertEqual(
            {d.partner_id.user_id for d in reminders}, set(reminders.user_id)
        )

    def _wizard_for_customers(self, count):
        invoices = self.env["account.move"]
        for index in range(count):
            user = new_test_user(
                self.env,
                login=f"kpulse_followup_seller_{count}_{index}",
                groups="sales_team.group_sale_salesman",
                company_id=self.env.company.id,
            )
            partner = self.env["res.partner"].create(
                {
                    "name": f"Customer {count}-{index}",
                    "is_company": True,
                    "email": f"c{count}{index}@example.com",
                    "user_id": user.id,
                }
            )
            invoices |= self._overdue_invoice(10, partner=partner)
        return self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(invoices.ids)],
                "template_id": self.template_1.id,
                "grouping": "partner",
            }
        )


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestCustomerReply(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        # The company's alias domain: its catchall receives the replies.
        company.alias_domain_id = cls.mail_alias_domain
        cls.level_1.automatic = True
        cls.salesman = new_test_user(
            cls.env,
            login="kpulse_reply_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
            email="salesman@example.com",
        )
        cls.other_salesman = new_test_user(
            cls.env,
            login="kpulse_reply_other_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
            email="other.salesman@example.com",
        )
        cls.customer.kpulse_followup_user_id = cls.billing_user
        cls.invoice = cls._overdue_invoice(10)
        cls.dunning = cls._create_dunnings(cls.invoice)
        cls.reply_type = cls.env.ref(REPLY_TYPE)

    def _send(self, dunning):
        with self.mock_mail_gateway():
            dunning.action_send()
        mail = self._new_mails.filtered(
            lambda m: m.model == "kpulse.dunning"
            and m.res_id == dunning.id
            and dunning.partner_invoice_id in m.recipient_ids
        )
        self.assertEqual(len(mail), 1)
        return mail

    def _reply_activities(self, dunning):
        return dunning.activity_ids.filtered(
            lambda a: a.activity_type_id == self.reply_type
        )

    def test_sent_mail_replies_to_the_catchall(self):
        mail = self._send(self.dunning)
        self.assertIn(f"{self.alias_catchall}@{self.alias_domain}", mail.reply_to)
        self.assertEqual(mail.mail_message_id.model, "kpulse.dunning")
        self.assertEqual(mail.mail_message_id.res_id, self.dunning.id)
        self.assertTrue(mail.message_id)

    def test_reply_lands_on_the_reminder(self):
        """The answer is posted in the reminder's chatter, flags it and the
        customer, schedules an activity for the responsible and notifies
        him; the automatic run leaves the customer alone until the reply is
        handled."""
        other_invoice = self._overdue_invoice(10)  # never reminded
        self.assertTrue(other_invoice.kpulse_auto_next)
        mail = self._send(self.dunning)
        self.assertEqual(self.dunning.user_id, self.billing_user)
        with self.mock_mail_gateway():
            _reply(self, mail, "Compta Dupont <compta@brasserie-dupont.example.com>")
        reply = self.dunning.message_ids.filtered(lambda m: m.message_type == "email")
        self.assertEqual(len(reply), 1)
        self.assertIn("We paid invoice 1 by bank transfer.", reply.body)
        self.assertEqual(reply.author_id, self.customer)
        self.assertEqual(reply.parent_id, mail.mail_message_id)
        self.assertTrue(self.dunning.reply_pending)
        self.assertTrue(self.customer.kpulse_reply_pending)
        activity = self._reply_activities(self.dunning)
        self.assertEqual(activity.user_id, self.billing_user)
        self.assertEqual(activity.date_deadline, TODAY)
        self.assertIn(
            self.billing_user.partner_id,
            reply.notification_ids.res_partner_id,
            "the responsible is notified of the reply",
        )
        # The automatic run pauses for this customer.
        other_invoice.invalidate_recordset()
        self.assertFalse(other_invoice.kpulse_auto_next)
        Move = self.env["account.move"]
        self.assertNotIn(other_invoice, Move.search([("kpulse_auto_next", "=", True)]))
        with self.enter_registry_test_mode():
            self.env.ref(AUTO_CRON).method_direct_trigger()
        self.assertFalse(
            self.env["kpulse.dunning"].search([("move_ids", "in", other_invoice.ids)])
        )

        # A second answer: in the chatter, no second activity.
        with self.mock_mail_gateway():
            _reply(
                self,
                mail,
                "compta@brasserie-dupont.example.com",
                body="Here is the proof of payment.",
            )
        self.assertEqual(
            len(self.dunning.message_ids.filtered(lambda m: m.message_type == "email")),
            2,
        )
        self.assertEqual(len(self._reply_activities(self.dunning)), 1)

        # Handled by the responsible: the activity is done, the run resumes.
        result = self.dunning.with_user(self.billing_user).action_reply_handled()
        self.assertEqual(result["params"]["type"], "success")
        self.assertFalse(self.dunning.reply_pending)
        self.assertFalse(self.customer.kpulse_reply_pending)
        self.assertFalse(self._reply_activities(self.dunning))
        other_invoice.invalidate_recordset()
        self.assertTrue(other_invoice.kpulse_auto_next)
        # A second click says so.
        result = self.dunning.with_user(self.billing_user).action_reply_handled()
        self.assertEqual(result["params"]["type"], "info")

    def test_customer_button_and_search(self):
        mail = self._send(self.dunning)
        with self.mock_mail_gateway():
            _reply(self, mail, "compta@brasserie-dupont.example.com")
        Dunning = self.env["kpulse.dunning"]
        self.assertEqual(Dunning.search([("reply_pending", "=", True)]), self.dunning)
        self.customer.with_user(self.billing_user).action_kpulse_reply_handled()
        self.assertFalse(self.customer.kpulse_reply_pending)
        self.assertFalse(self.dunning.reply_pending)
        self.assertFalse(Dunning.search([("reply_pending", "=", True)]))

    def test_reply_of_an_internal_user_is_no_customer_reply(self):
        mail = self._send(self.dunning)
        with self.mock_mail_gateway():
            _reply(self, mail, self.billing_user.email_formatted)
        self.assertTrue(
            self.dunning.message_ids.filtered(lambda m: m.message_type == "email")
        )
        self.assertFalse(self.dunning.reply_pending)
        self.assertFalse(self.customer.kpulse_reply_pending)
        self.assertFalse(self._reply_activities(self.dunning))

    def test_reply_never_reaches_a_user_who_cannot_read_it(self):
        """The customer's salesperson, restricted to his own documents, is
        the responsible of a reminder of another salesman's invoice: he gets
        neither the activity nor the reply, even as a follower; the company
        default responsible gets it when he can read it."""
        self.customer_2.user_id = self.salesman
        invoice = self._overdue_invoice(
            12, partner=self.customer_2, invoice_user_id=self.other_salesman.id
        )
        dunning = self._create_dunnings(invoice)
        self.assertEqual(dunning.user_id, self.salesman)
        self.assertFalse(dunning.with_user(self.salesman).has_access("read"))
        dunning.message_subscribe(partner_ids=self.salesman.partner_id.ids)
        mail = self._send(dunning)
        with self.mock_mail_gateway():
            _reply(self, mail, "factures@atelier-martin.example.com")
        reply = dunning.message_ids.filtered(lambda m: m.message_type == "email")
        self.assertEqual(len(reply), 1)
        self.assertTrue(dunning.reply_pending, "the reply is recorded")
        self.assertTrue(self.customer_2.kpulse_reply_pending)
        self.assertFalse(self._reply_activities(dunning), "nobody who can read it")
        self.assertNotIn(
            self.salesman.partner_id, reply.notification_ids.res_partner_id
        )
        self.assertFalse(
            self._new_mails.filtered(
                lambda m: self.salesman.partner_id in m.recipient_ids
            )
        )
        # He may not clear it either: it is not his customer's reminder.
        with self.assertRaises(AccessError):
            dunning.with_user(self.other_salesman).action_reply_handled()
        dunning.action_reply_handled()

        # With a default responsible who can read it, he is told instead.
        self.env.company.kpulse_default_followup_user_id = self.billing_user
        with self.mock_mail_gateway():
            _reply(self, mail, "factures@atelier-martin.example.com")
        activity = self._reply_activities(dunning)
        self.assertEqual(activity.user_id, self.billing_user)
        reply = dunning.message_ids.filtered(lambda m: m.message_type == "email")[0]
        self.assertNotIn(
            self.salesman.partner_id, reply.notification_ids.res_partner_id
        )

    def test_salesman_responsible_may_handle_his_customer(self):
        self.customer_2.kpulse_followup_user_id = self.salesman
        invoice = self._overdue_invoice(
            12, partner=self.customer_2, invoice_user_id=self.salesman.id
        )
        dunning = self._create_dunnings(invoice)
        mail = self._send(dunning)
        with self.mock_mail_gateway():
            _reply(self, mail, "factures@atelier-martin.example.com")
        self.assertEqual(self._reply_activities(dunning).user_id, self.salesman)
        with self.assertRaises(AccessError):
            self.customer_2.with_user(self.other_salesman).action_kpulse_reply_handled()
        dunning.with_user(self.salesman).action_reply_handled()
        self.assertFalse(self.customer_2.kpulse_reply_pending)
        self.assertFalse(dunning.reply_pending)


@tagged("post_install", "-at_install")
class TestCustomerReplyUi(AccountTestInvoicingHttpCommon):
    def test_reply_tour(self):
        """A billing user finds the reminder the customer answered, reads
        the answer in its chatter and marks it handled."""
        company = self.env.company
        user = new_test_user(
            self.env,
            login="kpulse_reply_tour",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
            company_id=company.id,
            email="reply.tour@example.com",
        )
        partner = self.env["res.partner"].create(
            {
                "name": "Tour Reply Customer",
                "is_company": True,
                "email": "accounts@tour-reply.example.com",
                "kpulse_followup_user_id": user.id,
            }
        )
        due = TODAY.replace(year=TODAY.year - 1)
        invoice = self._create_invoice(
            partner_id=partner.id,
            invoice_date=due,
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create({"name": "Service", "price_unit": 300.0, "tax_ids": []})
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
        dunning.action_send()
        # The reminder's e-mail, as sent to the customer.
        sent = dunning.message_ids.filtered(lambda m: m.partner_ids == partner)
        self.assertEqual(len(sent), 1)
        raw = REPLY_TEMPLATE.format(
            return_path="<accounts@tour-reply.example.com>",
            to="catchall@example.com",
            cc="",
            email_from="accounts@tour-reply.example.com",
            subject="Re: payment reminder",
            date="Mon, 15 Jun 2026 09:30:00 +0000",
            msg_id="<tour-reply-1@tour-reply.example.com>",
            references=sent.message_id,
            extra="",
            body="The invoice was paid on Friday, see the remittance advice.",
        )
        self.env["mail.thread"].sudo().message_process(None, raw)
        self.assertTrue(dunning.reply_pending)
        self.start_tour("/odoo", "kpulse_dunning_reply_tour", login=user.login)
        self.assertFalse(dunning.reply_pending)
        self.assertFalse(partner.kpulse_reply_pending)
