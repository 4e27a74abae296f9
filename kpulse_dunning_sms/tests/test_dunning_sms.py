import importlib.util
import unittest
from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import format_amount, format_date

from odoo.addons.kpulse_dunning.tests.common import TODAY, KpulseDunningCommon
from odoo.addons.kpulse_dunning_sms import _uninstall_level_sms
from odoo.addons.sms.tests.common import SMSCommon

# Odoo checks and formats numbers with the optional phonenumbers library.
HAS_PHONENUMBERS = importlib.util.find_spec("phonenumbers") is not None


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningSms(KpulseDunningCommon, SMSCommon):
    @classmethod
    def default_env_context(cls):
        # Mail is switched off by the accounting test base: switch it back on.
        return {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        france = cls.env.ref("base.fr")
        cls.customer.write({"phone": "06 12 34 56 78", "country_id": france.id})
        cls.customer_2.write({"phone": "06 98 76 54 32", "country_id": france.id})
        # The shipped level 1 got its SMS template at installation.
        cls.level_1.action_sms = True
        cls.template_1.attach_invoice = False

    def _send(self, dunnings):
        with self.mockSMSGateway(), self.mock_mail_gateway():
            return dunnings.with_user(self.billing_user).action_send()

    def _sms_logs(self, dunning):
        return dunning.message_ids.filtered(lambda m: m.message_type == "sms")

    def _notes(self, dunning):
        return dunning.message_ids.filtered(lambda m: m.message_type != "sms").mapped(
            "body"
        )

    def _mail_of(self, dunning):
        return self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id == dunning.id
        )

    # === CONFIGURATION === #

    def test_shipped_levels_have_their_template(self):
        self.assertEqual(
            self.level_1.sms_template_id,
            self.env.ref("kpulse_dunning_sms.sms_template_kpulse_level_1"),
        )
        self.assertEqual(
            self.level_3.sms_template_id,
            self.env.ref("kpulse_dunning_sms.sms_template_kpulse_level_3"),
        )
        self.assertFalse(self.level_2.action_sms, "SMS costs credits: off by default")

    def test_level_actions(self):
        self.level_2.write({"action_email": False, "action_sms": True})
        self.assertEqual(self.level_2._action_labels(), "SMS", "SMS alone is enough")
        self.assertEqual(self.level_1._action_labels(), "E-mail, SMS")
        with self.assertRaisesRegex(ValidationError, "choose its SMS template"):
            self.level_3.write({"action_sms": True, "sms_template_id": False})
        with self.assertRaisesRegex(ValidationError, "does nothing"):
            self.level_2.action_sms = False

    def test_uninstall_keeps_the_levels_working(self):
        """Uninstalling frees the SMS templates; a level that only sent SMS
        sends e-mails instead of nothing."""
        self.level_1.action_email = False
        _uninstall_level_sms(self.env)
        self.assertTrue(self.level_1.action_email)
        self.assertFalse(self.level_1.action_sms)
        self.assertFalse((self.level_1 | self.level_2 | self.level_3).sms_template_id)

    # === SENDING === #

    def test_sms_with_the_email(self):
        dunning = self._create_dunnings(self._overdue_invoice(10))
        self._send(dunning)
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(len(self._mail_of(dunning)), 1, "the e-mail goes out too")
        amount = format_amount(self.env, 1000.0, dunning.currency_id)
        deadline = format_date(self.env, TODAY + timedelta(days=8))
        body = (
            f"{self.env.company.name}: unless we are mistaken, {amount} is "
            f"overdue (reminder {dunning.name}). Please pay by {deadline}: "
            f"{dunning.portal_url}"
        )
        self.assertSMSOutgoing(self.customer, None, fields_values={"body": body})
        self.assertEqual(len(self._new_sms), 1)
        if HAS_PHONENUMBERS:
            self.assertEqual(self._new_sms.number, "+33612345678", "E.164")
        self.assertIn("/my/invoices/", body, "the payment link of the invoice")
        self.assertEqual(len(self._sms_logs(dunning)), 1, "logged in the chatter")

    def test_sms_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env.ref("base.module_kpulse_dunning_sms")._update_translations(["fr_FR"])
        self.customer.lang = "fr_FR"
        dunning = self._create_dunnings(self._overdue_invoice(10))
        self._send(dunning)
        amount = format_amount(self.env, 1000.0, dunning.currency_id, "fr_FR")
        deadline = format_date(self.env, TODAY + timedelta(days=8), "fr_FR")
        body = (
            f"{self.env.company.name} : sauf erreur de notre part, {amount} reste "
            f"impayé (relance {dunning.name}). Merci de régler avant le "
            f"{deadline} : {dunning.portal_url}"
        )
        self.assertSMSOutgoing(self.customer, None, fields_values={"body": body})

    def test_no_number_notes_on_the_reminder(self):
        """The e-mail is sent; the reminder says why no SMS was."""
        self.customer_2.phone = False
        dunning = self._create_dunnings(
            self._overdue_invoice(10, partner=self.customer_2)
        )
        result = self._send(dunning)
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(dunning.state, "sent")
        self.assertEqual(len(self._mail_of(dunning)), 1)
        self.assertFalse(self._new_sms)
        self.assertIn(
            "<p>No SMS sent: Atelier Martin has no phone number for the SMS.</p>",
            self._notes(dunning),
        )

    @unittest.skipUnless(HAS_PHONENUMBERS, "Odoo checks numbers with phonenumbers")
    def test_invalid_number_notes_on_the_reminder(self):
        self.customer_2.phone = "12"
        dunning = self._create_dunnings(
            self._overdue_invoice(10, partner=self.customer_2)
        )
        self._send(dunning)
        self.assertEqual(dunning.state, "sent")
        self.assertFalse(self._new_sms)
        self.assertIn(
            "<p>No SMS sent: The phone number of Atelier Martin (12) is not "
            "valid for an SMS.</p>",
            self._notes(dunning),
        )

    def test_sms_only_level(self):
        """Without e-mail nor letter by post, the SMS is the reminder: no
        number fails it, with the reason, as no e-mail address fails an
        e-mail reminder; fixed, it is sent again."""
        self.level_1.action_email = False
        self.customer_2.phone = False
        good = self._create_dunnings(self._overdue_invoice(10))
        no_number = self._create_dunnings(
            self._overdue_invoice(10, partner=self.customer_2)
        )
        result = self._send(good | no_number)
        self.assertEqual(good.state, "sent")
        self.assertEqual(no_number.state, "failed")
        self.assertEqual(
            no_number.failure_reason, "Atelier Martin has no phone number for the SMS."
        )
        self.assertIn(no_number.name, result["params"]["message"])
        self.assertSMSOutgoing(self.customer, None)
        self.assertEqual(len(self._new_sms), 1)
        self.assertFalse(self._new_mails)
        self.assertIn("<p>Reminder sent without e-mail: SMS.</p>", self._notes(good))
        self.customer_2.phone = "06 98 76 54 32"
        self._send(no_number)
        self.assertEqual(no_number.state, "sent")
        self.assertFalse(no_number.failure_reason)
        self.assertSMSOutgoing(self.customer_2, None)

    def test_batch_in_one_go(self):
        """One composer for the batch: one create of all its SMS, and the
        same queries for four reminders as for two."""
        partners = self.customer | self.customer_2
        partners |= self.env["res.partner"].create(
            [
                {
                    "name": f"Client {index}",
                    "email": f"client{index}@example.com",
                    "phone": f"06 11 22 33 4{index}",
                    "country_id": self.customer.country_id.id,
                }
                for index in range(2)
            ]
        )
        dunnings = self.env["kpulse.dunning"].union(
            *(
                self._create_dunnings(self._overdue_invoice(10, partner=partner))
                for partner in partners
            )
        )
        with self.mockSMSGateway(), self.mock_mail_gateway():
            dunnings.action_send()
            self.assertEqual(self._mock_sms_create.call_count, 1)
        self.assertEqual(len(self._new_sms), 4)
        self.assertEqual(set(self._new_sms.mapped("state")), {"outgoing"})
        for dunning in dunnings:
            self.assertEqual(len(self._sms_logs(dunning)), 1)

        Send = self.env["kpulse.dunning.send"]

        def queries(batch):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            with self.mockSMSGateway():
                Send._send_sms(batch)
                self.env.flush_all()
            return self.cr.sql_log_count - before

        queries(dunnings[:2])  # caches of the first call
        self.assertEqual(
            queries(dunnings), queries(dunnings[:2]), "four reminders as two"
        )

    def test_same_number_twice_in_a_batch(self):
        """Odoo's mass SMS rule: one SMS per number and batch, the other one
        is cancelled as a duplicate, in its reminder's chatter."""
        first, second = (
            self._create_dunnings(self._overdue_invoice(days)) for days in (10, 11)
        )
        self._send(first | second)
        self.assertEqual(first.state, "sent")
        self.assertEqual(second.state, "sent")
        self.assertEqual(
            sorted(self._new_sms.mapped("state")), ["canceled", "outgoing"]
        )
        self.assertEqual(
            self._new_sms.filtered(lambda sms: sms.state == "canceled").failure_type,
            "sms_duplicate",
        )
