from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningAccess(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.salesman = new_test_user(
            cls.env,
            login="kpulse_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        cls.billing_admin = new_test_user(
            cls.env,
            login="kpulse_billing_admin",
            groups="account.group_account_manager",
            company_id=company.id,
        )
        cls.sales_admin = new_test_user(
            cls.env,
            login="kpulse_sales_admin",
            groups="sales_team.group_sale_manager",
            company_id=company.id,
        )
        cls.other_company = cls.setup_other_company()["company"]
        cls.other_user = new_test_user(
            cls.env,
            login="kpulse_other",
            groups="account.group_account_invoice",
            company_id=cls.other_company.id,
            company_ids=cls.other_company.ids,
        )
        # The salesman's own invoice: "own documents" salesmen see its reminder.
        cls.dunning = cls._create_dunnings(
            cls._overdue_invoice(10, invoice_user_id=cls.salesman.id)
        )

    def test_billing_user_creates_and_sends(self):
        Dunning = self.env["kpulse.dunning"].with_user(self.billing_user)
        invoice = self._overdue_invoice(12)
        wizard = (
            self.env["kpulse.dunning.create"]
            .with_user(self.billing_user)
            .create({"move_ids": invoice.ids, "template_id": self.template_1.id})
        )
        dunnings, _duplicates = wizard._create_dunnings()
        self.assertEqual(dunnings.state, "draft")
        self.assertIn(self.dunning, Dunning.search([]))
        dunnings.with_user(self.billing_user)._check_can_send()
        with self.assertRaises(AccessError):
            self.level_1.with_user(self.billing_user).name = "Renamed"

    def test_salesman_reads_but_cannot_send(self):
        dunning = self.dunning.with_user(self.salesman)
        self.assertEqual(dunning.partner_id, self.customer)
        self.assertTrue(self.level_1.with_user(self.salesman).name)
        with self.assertRaises(AccessError):
            dunning.action_send()
        # Escalation groups the reminders as superuser: only after the
        # user's write access to them is checked.
        count = self.env["kpulse.dunning"].search_count([])
        with self.assertRaises(AccessError):
            dunning.action_escalate()
        self.assertEqual(self.env["kpulse.dunning"].search_count([]), count)
        self.assertFalse(self.dunning.escalated_id)
        with self.assertRaises(AccessError):
            dunning.write({"state": "sent"})
        with self.assertRaises(AccessError):
            self.env["kpulse.dunning"].with_user(self.salesman).create(
                {
                    "partner_id": self.customer.id,
                    "currency_id": self.env.company.currency_id.id,
                    "level_id": self.level_1.id,
                }
            )
        with self.assertRaises(AccessError):
            self.template_1.with_user(self.salesman).subject = "Pay!"

    def test_admins_configure(self):
        for admin in (self.billing_admin, self.sales_admin):
            level = (
                self.env["kpulse.dunning.level"]
                .with_user(admin)
                .create({"name": f"Level of {admin.login}", "sequence": 100 + admin.id})
            )
            template = (
                self.env["kpulse.dunning.template"]
                .with_user(admin)
                .create(
                    {
                        "name": "Call us",
                        "level_id": level.id,
                        "subject": "Reminder {{ object.name }}",
                        "body_html": "<p>Hello <t t-out='object.partner_id.name'/></p>",
                        "letter_html": "<p>Please call us.</p>",
                    }
                )
            )
            self.assertEqual(level._get_default_template(self.env.company), template)
            # Like mail templates: sensitive expressions need the editor group.
            with self.assertRaisesRegex(AccessError, "Mail Template Editor"):
                template.body_html = "<p><t t-out='object.partner_id.email'/></p>"

    def test_other_company_sees_nothing(self):
        Dunning = self.env["kpulse.dunning"].with_user(self.other_user)
        self.assertFalse(Dunning.search([]))
        with self.assertRaises(AccessError):
            self.dunning.with_user(self.other_user).read(["name"])
        # Shared default levels stay visible to every company.
        self.assertIn(
            self.level_1,
            self.env["kpulse.dunning.level"].with_user(self.other_user).search([]),
        )
