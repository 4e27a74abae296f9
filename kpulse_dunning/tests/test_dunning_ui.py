from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon


@tagged("post_install", "-at_install")
class TestDunningUi(AccountTestInvoicingHttpCommon):
    def test_tutorial_tour(self):
        """Replay the tutorial as a billing user: new reminders, send, escalate."""
        company = self.env.company
        user = new_test_user(
            self.env,
            login="kpulse_tour",
            groups="account.group_account_invoice,sales_team.group_sale_salesman",
            company_id=company.id,
            email="tour@example.com",
        )
        due = fields.Date.today() - timedelta(days=12)
        invoices = self.env["account.move"]
        for name in ("Tour Alpha", "Tour Beta"):
            partner = self.env["res.partner"].create(
                {
                    "name": name,
                    "is_company": True,
                    "email": f"{name[5:].lower()}@example.com",
                }
            )
            invoices |= self._create_invoice(
                partner_id=partner.id,
                invoice_date=due - timedelta(days=30),
                invoice_date_due=due,
                invoice_payment_term_id=False,
                invoice_line_ids=[
                    Command.create(
                        {"name": "Service", "price_unit": 500.0, "tax_ids": []}
                    )
                ],
                post=True,
            )
        self.start_tour("/odoo", "kpulse_dunning_tour", login=user.login)

        dunnings = self.env["kpulse.dunning"].search([("move_ids", "in", invoices.ids)])
        first = dunnings.filtered(lambda d: d.level_id.sequence == 10)
        second = dunnings - first
        self.assertEqual(len(first), 2)
        self.assertEqual(set(first.mapped("state")), {"sent"})
        self.assertEqual(
            second.previous_id,
            first.filtered(lambda d: d.partner_id.name == "Tour Alpha"),
        )
        self.assertEqual(second.state, "draft")
        self.assertEqual(invoices.kpulse_dunning_level_id.mapped("sequence"), [10])
