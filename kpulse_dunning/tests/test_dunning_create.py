from ast import literal_eval

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningCreate(KpulseDunningCommon):
    def test_proposal_of_invoices_and_levels(self):
        early = self._overdue_invoice(3)
        late_10 = self._overdue_invoice(10)
        late_30 = self._overdue_invoice(30)
        late_60 = self._overdue_invoice(60)
        self._overdue_invoice(-3)  # not yet due
        action = self.env["kpulse.dunning"].action_open_new_dunnings()
        candidates = self.env["account.move"].search(literal_eval(action["domain"]))
        self.assertEqual(candidates, early | late_10 | late_30 | late_60)
        self.assertEqual(late_30.kpulse_days_overdue, 30)
        self.assertEqual(
            early.kpulse_proposed_level_id,
            self.level_1,
            "first level when none reached",
        )
        self.assertEqual(late_10.kpulse_proposed_level_id, self.level_1)
        self.assertEqual(late_30.kpulse_proposed_level_id, self.level_2)
        self.assertEqual(late_60.kpulse_proposed_level_id, self.level_3)

        # Once the first reminder is sent, the next one is proposed.
        dunning = self._create_dunnings(late_10)
        dunning.write({"state": "sent", "sent_date": "2026-06-15 10:00:00"})
        self.assertEqual(late_10.kpulse_dunning_level_id, self.level_1)
        late_10.invalidate_recordset(["kpulse_proposed_level_id"])
        self.assertEqual(late_10.kpulse_proposed_level_id, self.level_2)

        # The wizard defaults to the template of the proposed level.
        wizard = Form(
            self.env["kpulse.dunning.create"].with_context(
                active_model="account.move", active_ids=late_30.ids
            )
        )
        self.assertEqual(wizard.template_id, self.template_2)

    def test_one_reminder_per_invoice(self):
        invoices = self._overdue_invoice(10) | self._overdue_invoice(20)
        invoices |= self._overdue_invoice(15, partner=self.customer_2)
        wizard = self.env["kpulse.dunning.create"].create(
            {"move_ids": [Command.set(invoices.ids)], "template_id": self.template_1.id}
        )
        self.assertEqual(wizard.grouping, "invoice")
        action = wizard.action_create()
        dunnings = self.env["kpulse.dunning"].search(action["domain"])
        self.assertEqual(len(dunnings), 3)
        self.assertEqual(set(dunnings.mapped("state")), {"draft"})
        self.assertEqual(dunnings.level_id, self.level_1)
        self.assertEqual(dunnings.template_id, self.template_1)
        self.assertEqual(dunnings.move_ids, invoices)
        self.assertTrue(all(d.name.startswith("REM/2026/") for d in dunnings))
        self.assertEqual(len(set(dunnings.mapped("name"))), 3)
        line = dunnings.line_ids.filtered(lambda rec: rec.move_id == invoices[1])
        self.assertEqual(line.days_overdue, 20)
        self.assertEqual(line.amount_residual, 1000.0)
        found = self.env["kpulse.dunning"].search([("move_ids", "in", invoices[0].ids)])
        self.assertEqual(found.move_ids, invoices[0])

    def test_one_reminder_per_customer(self):
        invoices = self._overdue_invoice(10, 100.0) | self._overdue_invoice(20, 250.0)
        other = self._overdue_invoice(15, 40.0, partner=self.customer_2)
        self.env.company.kpulse_dunning_grouping = "partner"
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set((invoices | other).ids)],
                "template_id": self.template_1.id,
            }
        )
        self.assertEqual(wizard.grouping, "partner")
        dunnings = self.env["kpulse.dunning"].search(wizard.action_create()["domain"])
        self.assertEqual(len(dunnings), 2)
        grouped = dunnings.filtered(lambda d: d.partner_id == self.customer)
        self.assertEqual(grouped.move_ids, invoices)
        self.assertEqual(grouped.amount_residual, 350.0)
        self.assertEqual(
            dunnings.filtered(
                lambda d: d.partner_id == self.customer_2
            ).amount_residual,
            40.0,
        )

    def test_no_duplicate_draft_at_same_level(self):
        first, second = self._overdue_invoice(10), self._overdue_invoice(11)
        self._create_dunnings(first)
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set((first | second).ids)],
                "template_id": self.template_1.id,
            }
        )
        result = wizard.action_create()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn(first.name, result["params"]["message"])
        self.assertIn("already have a reminder to send", result["params"]["message"])
        created = self.env["kpulse.dunning"].search(result["params"]["next"]["domain"])
        self.assertEqual(created.move_ids, second)
        self.assertEqual(first.kpulse_dunning_count, 1)
        # Another level is not a duplicate.
        self.assertEqual(len(self._create_dunnings(first, self.template_2)), 1)

    def test_empty_and_foreign_template(self):
        wizard = self.env["kpulse.dunning.create"].create(
            {"template_id": self.template_1.id}
        )
        with self.assertRaisesRegex(UserError, "at least one invoice"):
            wizard.action_create()
        other_company = self.setup_other_company()["company"]
        template = self.template_1.copy({"company_id": other_company.id})
        wizard.write(
            {"move_ids": self._overdue_invoice(10).ids, "template_id": template.id}
        )
        with self.assertRaisesRegex(UserError, "another company"):
            wizard.action_create()

    def test_query_count_does_not_grow(self):
        small = self._wizard_for(10)
        large = self._wizard_for(100)
        small_count = self._count_queries(small.action_create)
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(small_count):
            large.action_create()
            self.env.flush_all()
        self.assertEqual(len(large.move_ids.kpulse_dunning_line_ids), 100)

    def _wizard_for(self, count):
        invoices = self.env["account.move"].union(
            *(self._overdue_invoice(10 + index % 30) for index in range(count))
        )
        return self.env["kpulse.dunning.create"].create(
            {"move_ids": [Command.set(invoices.ids)], "template_id": self.template_1.id}
        )

    def _count_queries(self, func):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before
