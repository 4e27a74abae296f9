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

    def test_template_editor_tour(self):
        """Write a template with fields picked from the editor, preview it on
        an overdue invoice, save it; a broken template is refused at save.

        The author is a billing admin, not a Mail Template Editor: with
        Odoo's default restricted template rendering, the dynamic fields are
        what such a user may insert."""
        company = self.env.company
        user = new_test_user(
            self.env,
            login="kpulse_template_tour",
            groups="account.group_account_manager,sales_team.group_sale_salesman",
            company_id=company.id,
        )
        partner = self.env["res.partner"].create(
            {
                "name": "Tour Gamma",
                "is_company": True,
                "kpulse_penalty_excluded": True,
                "child_ids": [
                    Command.create(
                        {
                            "name": "Claire Gamma",
                            "type": "invoice",
                            "email": "claire@gamma.example.com",
                        }
                    )
                ],
            }
        )
        due = fields.Date.today() - timedelta(days=30)
        self._create_invoice(
            partner_id=partner.id,
            invoice_date=due - timedelta(days=30),
            invoice_date_due=due,
            invoice_payment_term_id=False,
            invoice_line_ids=[
                Command.create({"name": "Service", "price_unit": 1240.0, "tax_ids": []})
            ],
            post=True,
        )
        templates = self.env["kpulse.dunning.template"].search([])
        self.start_tour("/odoo", "kpulse_dunning_template_tour", login=user.login)

        template = self.env["kpulse.dunning.template"].search(
            [("id", "not in", templates.ids)]
        )
        self.assertEqual(template.name, "Tour letter")
        self.assertEqual(template.level_id.sequence, 10)
        self.assertEqual(
            template.subject, "Reminder for {{object.customer_contact_name}}"
        )
        self.assertIn(
            't-out="format_amount(object.amount_claimed, object.currency_id)"',
            template.letter_html,
        )
        self.assertFalse(
            self.env["kpulse.dunning"].search([("template_id", "=", template.id)]),
            "the preview saves no reminder",
        )

    def test_queue_tour(self):
        """Select many reminders, Send: they are queued; the cron sends them."""
        self.env["ir.config_parameter"].set_param("kpulse_dunning.immediate_limit", 2)
        user = new_test_user(
            self.env,
            login="kpulse_queue_tour",
            groups="account.group_account_invoice",
            company_id=self.env.company.id,
            email="queue@example.com",
        )
        partner = self.env["res.partner"].create(
            {"name": "Queue Customer", "is_company": True, "email": "q@example.com"}
        )
        due = fields.Date.today() - timedelta(days=12)
        invoices = self.env["account.move"]
        for amount in (100.0, 200.0, 300.0, 400.0):
            invoices |= self._create_invoice(
                partner_id=partner.id,
                invoice_date=due - timedelta(days=30),
                invoice_date_due=due,
                invoice_payment_term_id=False,
                invoice_line_ids=[
                    Command.create(
                        {"name": "Service", "price_unit": amount, "tax_ids": []}
                    )
                ],
                post=True,
            )
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(invoices.ids)],
                "template_id": self.env.ref(
                    "kpulse_dunning.kpulse_dunning_template_1"
                ).id,
                "grouping": "invoice",
            }
        )
        dunnings, _duplicates = wizard._create_dunnings()
        self.start_tour("/odoo", "kpulse_dunning_queue_tour", login=user.login)
        self.assertEqual(len(dunnings.run_id), 1)
        self.assertEqual(set(dunnings.mapped("state")), {"draft"})
        self.env.ref(
            "kpulse_dunning.ir_cron_kpulse_dunning_queue"
        ).method_direct_trigger()
        self.assertEqual(set(dunnings.mapped("state")), {"sent"})
        self.start_tour("/odoo", "kpulse_dunning_queue_done_tour", login=user.login)
