"""Automatic runs and what each level does (issue 9)."""

from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon

AUTO_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_automatic"
QUEUE_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_queue"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestAutomaticRun(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.level_1.automatic = True
        company = cls.env.company
        company.kpulse_auto_min_gap_days = 10
        company.kpulse_auto_min_amount = 100.0
        cls.late = cls._overdue_invoice(10, 500.0)  # level 1 reached (7 days)
        cls.too_small = cls._overdue_invoice(10, 50.0)
        cls.not_yet = cls._overdue_invoice(3, 500.0)  # before level 1's delay
        cls.manual_customer = cls.env["res.partner"].create(
            {
                "name": "Manual Customer",
                "is_company": True,
                "email": "manual@example.com",
                "kpulse_manual_followup": True,
            }
        )
        cls.manual = cls._overdue_invoice(10, 500.0, partner=cls.manual_customer)
        cls.recently_reminded = cls._overdue_invoice(30, 500.0)
        reminded = cls._create_dunnings(cls.recently_reminded)
        reminded.write({"state": "sent", "sent_date": TODAY - timedelta(days=5)})
        cls.level_2.automatic = False  # the recent one would be at level 2

    def test_next_run_filter_and_cron(self):
        Move = self.env["account.move"]
        expected = self.late
        found = Move.search([("kpulse_auto_next", "=", True)])
        self.assertEqual(found, expected)
        self.assertTrue(self.late.kpulse_auto_next)
        self.assertFalse(self.manual.kpulse_auto_next)
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
            dunning = self.env["kpulse.dunning"].search(
                [("move_ids", "in", self.late.ids)]
            )
            self.assertEqual(len(dunning), 1)
            self.assertEqual(dunning.level_id, self.level_1)
            self.assertTrue(dunning.run_id, "queued for sending")
            # Created in its run, which counts what was created.
            self.assertEqual(dunning.run_id.sudo().total_count, 1)
            self.assertEqual(dunning.run_id.sudo().action, "send")
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual(dunning.state, "sent")
        self.assertFalse(
            self.env["kpulse.dunning"].search(
                [
                    (
                        "move_ids",
                        "in",
                        (self.too_small | self.not_yet | self.manual).ids,
                    )
                ]
            ),
            "below the minimum, before the delay, or manual: left alone",
        )
        # Run again: the gap keeps the invoice out, nothing is created twice,
        # and no empty run is left behind.
        Run = self.env["kpulse.dunning.run"].sudo()
        runs = Run.search_count([])
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
        self.assertEqual(
            self.env["kpulse.dunning"].search_count(
                [("move_ids", "in", self.late.ids)]
            ),
            1,
        )
        self.assertEqual(Run.search_count([]), runs)

    def test_gap_over_gives_next_level(self):
        """Once the gap is over, an invoice gets its next automatic level."""
        self.level_2.automatic = True
        with freeze_time(TODAY + timedelta(days=6)):
            candidates = self.env["account.move"].search(
                [("kpulse_auto_next", "=", True)]
            )
        self.assertIn(self.recently_reminded, candidates)
        self.assertEqual(self.recently_reminded.kpulse_proposed_level_id, self.level_2)

    def test_grouping_per_customer(self):
        self.env.company.kpulse_dunning_grouping = "partner"
        second = self._overdue_invoice(12, 300.0)
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(AUTO_CRON).method_direct_trigger()
        dunning = self.env["kpulse.dunning"].search([("move_ids", "in", self.late.ids)])
        self.assertEqual(dunning.move_ids, self.late | second)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestLevelActions(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        return {}

    def test_default_actions(self):
        self.assertTrue(self.level_1.action_email)
        self.assertFalse(self.level_1.action_letter)
        self.assertTrue(self.level_3.action_email)
        self.assertTrue(self.level_3.action_letter, "formal notice: also by post")

    def test_a_level_does_something(self):
        with self.assertRaisesRegex(ValidationError, "does nothing"):
            self.level_1.action_email = False
        with self.assertRaisesRegex(ValidationError, "type"):
            self.level_1.action_activity = True

    def test_letter_by_post_goes_to_responsible_print_batch(self):
        dunning = self._create_dunnings(self._overdue_invoice(50), self.template_3)
        dunning.user_id = self.billing_user
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        to_customer = self._new_mails.filtered(
            lambda m: self.customer in m.recipient_ids
        )
        self.assertEqual(len(to_customer), 1)
        run = dunning.run_id
        self.assertEqual(run.action, "print")
        self.assertEqual(run.user_id, self.billing_user)

    def test_activity_only(self):
        call = self.env.ref("mail.mail_activity_data_call")
        self.level_2.write(
            {
                "action_activity": True,
                "activity_type_id": call.id,
                "activity_summary": "Call the customer",
                "activity_delay_days": 2,
            }
        )
        self.level_2.action_email = False
        dunning = self._create_dunnings(self._overdue_invoice(25), self.template_2)
        dunning.user_id = self.billing_user
        self.customer.email = False  # no e-mail needed without the e-mail action
        with self.mock_mail_gateway():
            dunning.action_send()
        self.assertEqual(dunning.state, "sent")
        self.assertFalse(
            self._new_mails.filtered(lambda m: self.customer in m.recipient_ids),
            "no e-mail to the customer",
        )
        activity = dunning.activity_ids
        self.assertEqual(activity.activity_type_id, call)
        self.assertEqual(activity.user_id, self.billing_user)
        self.assertEqual(activity.summary, "Call the customer")
        self.assertEqual(activity.date_deadline, TODAY + timedelta(days=2))
        self.assertTrue(
            dunning.message_ids.filtered(lambda m: m.attachment_ids),
            "the letter is kept in the chatter",
        )
