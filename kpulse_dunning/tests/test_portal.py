from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.mail.tests.common import MailCommon

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
class TestDunningPortal(KpulseDunningCommon, HttpCase):
    """My reminders in the portal: a portal user of customer A, reminders of
    A (sent, and one not sent) and of customer B.

    Dates are those of the common invoices, relative to ``TODAY``, in the
    past: the pages do not depend on today's date, and a frozen clock would
    expire the browser's session.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(
            cls.env,
            login="kpulse_portal_a",
            groups="base.group_portal",
            name="Claire Dupont",
            email="claire@brasserie-dupont.example.com",
        )
        cls.portal_user.partner_id.parent_id = cls.customer
        cls.invoices_a = cls._overdue_invoice(10, 400.0) | cls._overdue_invoice(
            20, 600.0
        )
        cls.reminder_a = cls._create_dunnings(cls.invoices_a, grouping="partner")
        cls.invoice_b = cls._overdue_invoice(15, 700.0, partner=cls.customer_2)
        cls.reminder_b = cls._create_dunnings(cls.invoice_b)
        (cls.reminder_a | cls.reminder_b).action_send()
        cls.draft_a = cls._create_dunnings(cls._overdue_invoice(30, 300.0))

    def _get(self, url, **kwargs):
        return self.url_open(url, allow_redirects=False, **kwargs)

    def _token_url(self, reminder, token=None, **params):
        query = "&".join(f"{key}={value}" for key, value in params.items())
        token = token or reminder.access_token
        return f"{reminder.access_url}?access_token={token}" + (
            f"&{query}" if query else ""
        )

    def _assert_to_login(self, response):
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    # === SENDING GIVES THE LINKS === #

    def test_sent_reminders_have_a_token_and_letters_link_to_them(self):
        self.assertEqual(self.reminder_a.state, "sent")
        self.assertTrue(self.reminder_a.access_token)
        self.assertNotEqual(self.reminder_a.access_token, self.reminder_b.access_token)
        page = self._token_url(self.reminder_a)
        self.assertTrue(self.reminder_a._letter_portal_url().endswith(page))
        # Two invoices: the e-mail's payment link is the reminder's page.
        self.assertTrue(self.reminder_a.portal_url.endswith(page))
        # One invoice: the invoice itself, as before.
        self.assertIn(f"/my/invoices/{self.invoice_b.id}", self.reminder_b.portal_url)
        self.assertFalse(self.draft_a.access_token, "given when sent or printed")

    def test_print_gives_the_token_before_rendering(self):
        self.draft_a.action_print()
        self.assertTrue(self.draft_a.access_token)
        self.assertIn(self.draft_a.access_token, self.draft_a._letter_portal_url())

    # === RECORD RULES === #

    def test_portal_user_reads_only_own_sent_reminders(self):
        Dunning = self.env["kpulse.dunning"].with_user(self.portal_user)
        self.assertEqual(Dunning.search([]), self.reminder_a)
        with self.assertRaises(AccessError):
            self.reminder_b.with_user(self.portal_user).check_access("read")
        with self.assertRaises(AccessError):
            self.draft_a.with_user(self.portal_user).check_access("read")
        with self.assertRaises(AccessError):
            self.reminder_a.with_user(self.portal_user).write({"state": "paid"})
        # The lines are shown by the portal page, never read by portal users.
        with self.assertRaises(AccessError):
            self.env["kpulse.dunning.line"].with_user(self.portal_user).search([])

    # === OWNER === #

    def test_owner_lists_own_reminders(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self._get("/my/reminders")
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.reminder_a.name, response.text)
        self.assertNotIn(self.reminder_b.name, response.text)
        self.assertNotIn(self.draft_a.name, response.text)
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["kpulse_reminder_count"]}
        )
        self.assertEqual(counters["kpulse_reminder_count"], 1)

    def test_owner_opens_own_reminder_without_token(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self._get(self.reminder_a.access_url)
        self.assertEqual(response.status_code, 200)
        for text in (self.reminder_a.name, self.level_1.name, "1,000.00"):
            self.assertIn(text, response.text)
        for invoice in self.invoices_a:
            self.assertIn(invoice.name, response.text)
            # Odoo's invoice page (and its Pay now) with the invoice's token.
            self.assertIn(
                f"/my/invoices/{invoice.id}?access_token={invoice.access_token}",
                response.text,
            )
        self.assertIn(f"{self.reminder_a.access_url}?report_type=pdf", response.text)

    # === ANOTHER CUSTOMER === #

    def test_other_customer_reminder_is_not_found(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self._get(self.reminder_b.access_url)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.reminder_b.name, response.text)
        # Neither with the token of the user's own reminder, nor its letter.
        response = self._get(
            self._token_url(self.reminder_b, self.reminder_a.access_token)
        )
        self.assertEqual(response.status_code, 404)
        response = self._get(
            f"{self.reminder_b.access_url}?report_type=pdf&download=true"
        )
        self.assertEqual(response.status_code, 404)
        self.assertNotEqual(response.headers.get("Content-Type"), "application/pdf")

    def test_reminder_not_sent_is_not_shown_even_with_its_token(self):
        self.draft_a._kpulse_ensure_access_tokens()
        self.authenticate(self.portal_user.login, self.portal_user.login)
        self.assertEqual(self._get(self.draft_a.access_url).status_code, 404)
        self.assertEqual(self._get(self._token_url(self.draft_a)).status_code, 404)

    # === ANONYMOUS === #

    def test_anonymous_without_token_goes_to_login(self):
        response = self._get(self.reminder_a.access_url)
        self._assert_to_login(response)
        self.assertIn(
            "redirect=%2Fmy%2Freminders%2F" + str(self.reminder_a.id),
            response.headers["Location"],
        )
        self._assert_to_login(self._get("/my/reminders"))
        self._assert_to_login(
            self._get(f"{self.reminder_a.access_url}?report_type=pdf&download=true")
        )

    def test_anonymous_with_token_sees_the_reminder(self):
        response = self._get(self._token_url(self.reminder_a))
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.reminder_a.name, response.text)
        for invoice in self.invoices_a:
            self.assertIn(invoice.name, response.text)
        self.assertNotIn(self.reminder_b.name, response.text)
        # The letter's link keeps the token.
        self.assertIn(
            "report_type=pdf&amp;download=true&amp;access_token="
            + self.reminder_a.access_token,
            response.text,
        )

    def test_anonymous_with_wrong_token_is_refused(self):
        for token in ("wrong", self.reminder_b.access_token):
            response = self._get(self._token_url(self.reminder_a, token))
            self._assert_to_login(response)
            response = self._get(
                self._token_url(self.reminder_a, token, report_type="pdf")
            )
            self._assert_to_login(response)

    # === THE LETTER === #

    def test_letter_download_is_the_pdf_sent(self):
        """The letter as sent, a real PDF (rendered by wkhtmltopdf)."""
        reminder = self._create_dunnings(self._overdue_invoice(12, 250.0))
        reminder.with_context(force_report_rendering=True).action_send()
        sent_copy = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "kpulse.dunning"),
                ("res_id", "=", reminder.id),
                ("name", "=", reminder._letter_filename()),
            ]
        )
        self.assertTrue(sent_copy.raw.startswith(b"%PDF"))
        response = self._get(
            self._token_url(reminder, report_type="pdf", download="true")
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(
            reminder._letter_filename(), response.headers["Content-Disposition"]
        )
        self.assertEqual(response.content, sent_copy.raw)

    def test_letter_rendered_when_the_sent_copy_is_gone(self):
        self.env["ir.attachment"].search(
            [("res_model", "=", "kpulse.dunning"), ("res_id", "=", self.reminder_a.id)]
        ).unlink()
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self._get(f"{self.reminder_a.access_url}?report_type=pdf")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("inline", response.headers["Content-Disposition"])
        # Tests render reports as HTML unless forced: the letter's content.
        self.assertIn(self.reminder_a.name, response.content.decode())

    # === TOUR === #

    def test_portal_tour(self):
        """The customer opens My Reminders, the reminder, sees its invoices
        with Pay now."""
        self.start_tour(
            "/my", "kpulse_dunning_portal_tour", login=self.portal_user.login
        )


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningPortalMail(KpulseDunningCommon, MailCommon):
    @classmethod
    def default_env_context(cls):
        # Mail is switched off by the accounting test base: switch it back on.
        return {}

    def test_email_links_to_the_reminder_page_with_its_token(self):
        """The customer's e-mail opens the reminder with its token: Odoo's
        button of portal documents, and the payment link of a reminder of
        several invoices."""
        invoices = self._overdue_invoice(10) | self._overdue_invoice(20)
        dunning = self._create_dunnings(invoices, grouping="partner")
        with self.mock_mail_gateway():
            dunning.action_send()
        mail = self._new_mails.filtered(
            lambda m: m.model == "kpulse.dunning" and m.res_id == dunning.id
        )
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertTrue(dunning.access_token)
        # Odoo's "View" button of portal documents (sorted parameters).
        self.assertIn(f"/mail/view?access_token={dunning.access_token}", mail.body_html)
        # The payment link of a reminder of several invoices.
        self.assertIn(
            f"/my/reminders/{dunning.id}?access_token={dunning.access_token}",
            mail.body_html,
        )
