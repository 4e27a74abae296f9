from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import config

from .common import TODAY, KpulseQueueCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestSendSender(KpulseQueueCommon):
    """What the click checks before it sends or queues anything, and who
    receives the e-mail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.no_email_user = new_test_user(
            cls.env,
            login="kpulse_no_email",
            groups="account.group_account_invoice",
            company_id=cls.env.company.id,
        )
        cls.no_email_user.partner_id.email = False

    def _without_default_sender(self):
        """No default sender on the company's e-mail domain, none given to
        the server."""
        self.env.company.alias_domain_id.default_from = False
        return patch.dict(config.options, {"email_from": False})

    def test_no_sender_refused_at_the_click(self):
        """Three reminders (above the immediate limit of two: they would be
        queued) and no sender anywhere: one message says what to set, and
        nothing is queued nor sent."""
        Run = self.env["kpulse.dunning.run"].sudo()
        runs_before = Run.search([])
        dunnings = self.dunnings.with_user(self.no_email_user)
        with self._without_default_sender(), self.mock_mail_gateway():
            with self.assertRaisesRegex(UserError, "no sender address"):
                dunnings.action_send()
            with self.assertRaisesRegex(UserError, "no sender address"):
                dunnings[:1].action_send()  # sent at once: refused as well
        self.assertEqual(Run.search([]), runs_before, "nothing queued")
        self.assertFalse(self.dunnings.run_id)
        self.assertEqual(set(self.dunnings.mapped("state")), {"draft"})
        self.assertFalse(self._new_mails)

    def test_company_default_sender_is_enough(self):
        """A user without an e-mail address sends with the default sender of
        the company's e-mail domain."""
        self.assertTrue(self.env.company.default_from_email)
        with patch.dict(config.options, {"email_from": False}):
            with self.mock_mail_gateway():
                self.dunnings[:1].with_user(self.no_email_user).action_send()
        self.assertEqual(self.dunnings[:1].state, "sent")

    def test_letters_by_post_need_no_sender(self):
        """A level that does not e-mail needs no sender address."""
        self.level_1.write({"action_email": False, "action_letter": True})
        with self._without_default_sender(), self.mock_mail_gateway():
            self.dunnings[:1].with_user(self.no_email_user).action_send()
        self.assertEqual(self.dunnings[:1].state, "sent")

    def test_followers_get_no_copy(self):
        """The customer gets the e-mail; the reminder's followers (here a
        colleague who asked to be notified by e-mail, and the sender) see
        it in the chatter only, as for Odoo's own invoice sending."""
        colleague = new_test_user(
            self.env,
            login="kpulse_colleague",
            groups="account.group_account_invoice",
            email="colleague@example.com",
            notification_type="email",
            company_id=self.env.company.id,
        )
        dunning = self.dunnings[:1]
        dunning.message_subscribe(
            partner_ids=(colleague.partner_id | self.billing_user.partner_id).ids
        )
        with self.mock_mail_gateway():
            dunning.with_user(self.billing_user).action_send()
        self.assertEqual(dunning.state, "sent")
        mails = self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id == dunning.id
        )
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails.recipient_ids, self.customer)
        message = mails.mail_message_id
        self.assertIn(message, dunning.message_ids, "the chatter keeps it")
        self.assertEqual(
            message.notification_ids.res_partner_id,
            self.customer,
            "no notification for the followers",
        )
