"""Who sees which reminder, and which company a reminder follows (issue 8,
findings 4 and 5)."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..models import kpulse_dunning_company_check as company_check
from .common import TODAY, KpulseDunningCommon


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestOwnDocuments(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.salesman = new_test_user(
            cls.env,
            login="kpulse_own_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        cls.other_salesman = new_test_user(
            cls.env,
            login="kpulse_other_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
        )
        cls.mine = cls._overdue_invoice(10, invoice_user_id=cls.salesman.id)
        cls.theirs = cls._overdue_invoice(
            12, partner=cls.customer_2, invoice_user_id=cls.other_salesman.id
        )
        cls.my_dunning = cls._create_dunnings(cls.mine)
        cls.their_dunning = cls._create_dunnings(cls.theirs)

    def test_salesman_sees_own_reminders_only(self):
        Dunning = self.env["kpulse.dunning"].with_user(self.salesman)
        Line = self.env["kpulse.dunning.line"].with_user(self.salesman)
        visible = Dunning.search([])
        self.assertIn(self.my_dunning, visible)
        self.assertNotIn(self.their_dunning, visible)
        self.assertEqual(Line.search([]).move_id, self.mine)
        with self.assertRaises(AccessError):
            self.their_dunning.with_user(self.salesman).read(["amount_claimed"])
        with self.assertRaises(AccessError):
            self.their_dunning.line_ids.with_user(self.salesman).read(
                ["invoice_date", "amount_total"]
            )
        # The salesman still reads his own reminder and its invoice details.
        line = self.my_dunning.line_ids.with_user(self.salesman)
        self.assertEqual(line.amount_total, self.mine.amount_total)

    def test_grouped_reminder_with_another_salesmans_invoice(self):
        """A reminder that also claims another salesman's invoice is not shown:
        its totals would reveal that invoice."""
        other_invoice = self._overdue_invoice(
            11, invoice_user_id=self.other_salesman.id
        )
        grouped = self._create_dunnings(
            self._overdue_invoice(9, invoice_user_id=self.salesman.id) | other_invoice,
            grouping="partner",
        )
        self.assertNotIn(
            grouped, self.env["kpulse.dunning"].with_user(self.salesman).search([])
        )

    def test_related_invoice_fields_use_readers_rights(self):
        Line = self.env["kpulse.dunning.line"]
        for fname in ("invoice_date", "amount_total", "current_amount_residual"):
            self.assertFalse(Line._fields[fname].compute_sudo, fname)

    def test_billing_user_sees_all(self):
        Dunning = self.env["kpulse.dunning"].with_user(self.billing_user)
        self.assertEqual(
            Dunning.search([("id", "in", (self.my_dunning | self.their_dunning).ids)]),
            self.my_dunning | self.their_dunning,
        )


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestReminderCompany(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_data_b = cls.setup_other_company()
        cls.company_b = cls.company_data_b["company"]
        # Company B has a level of its own between the shared levels 1 and 2.
        cls.level_b = cls.env["kpulse.dunning.level"].create(
            {"name": "B: call", "sequence": 15, "company_id": cls.company_b.id}
        )
        cls.template_b = cls.env["kpulse.dunning.template"].create(
            {
                "name": "B call",
                "level_id": cls.level_b.id,
                "company_id": cls.company_b.id,
                "subject": "Call {{ object.name }}",
                "letter_html": "<p>Please call us.</p>",
            }
        )
        # Company A has a level and a first template of its own.
        cls.level_a = cls.env["kpulse.dunning.level"].create(
            {"name": "A: call", "sequence": 16, "company_id": cls.company_a.id}
        )
        cls.template_2_a = cls.env["kpulse.dunning.template"].create(
            {
                "name": "A only",
                "level_id": cls.level_2.id,
                "company_id": cls.company_a.id,
                "sequence": 1,
                "subject": "A {{ object.name }}",
                "letter_html": "<p>A</p>",
            }
        )
        cls.env["ir.sequence"].create(
            {
                "name": "Reminders of B",
                "code": "kpulse.dunning",
                "prefix": "RB/",
                "padding": 4,
                "company_id": cls.company_b.id,
            }
        )
        cls.user_ab = new_test_user(
            cls.env,
            login="kpulse_user_ab",
            groups="account.group_account_invoice",
            company_id=cls.company_a.id,
            company_ids=(cls.company_a | cls.company_b).ids,
        )
        invoice_b = cls._invoice_of_b(30)
        cls.dunning_b = cls._create_dunnings(invoice_b)

    @classmethod
    def _invoice_of_b(cls, days_late):
        return cls._overdue_invoice(
            days_late,
            company_id=cls.company_b.id,
            journal_id=cls.company_data_b["default_journal_sale"].id,
        )

    def _as_ab(self, records):
        # Working in company A, allowed in both.
        return records.with_user(self.user_ab).with_context(
            allowed_company_ids=[self.company_a.id, self.company_b.id]
        )

    def test_reference_from_reminder_company(self):
        self.assertTrue(self.dunning_b.name.startswith("RB/"), self.dunning_b.name)

    def test_escalation_follows_reminder_company(self):
        self.dunning_b.write({"state": "sent", "sent_date": "2026-06-14 09:00:00"})
        escalated = self._as_ab(self.dunning_b)._action_escalate()
        self.assertEqual(escalated.company_id, self.company_b)
        self.assertEqual(escalated.level_id, self.level_b)
        self.assertEqual(escalated.template_id, self.template_b)
        self.assertTrue(escalated.name.startswith("RB/"), escalated.name)
        # From B's own level, the next one is the shared level 2, with the
        # shared template: never company A's.
        escalated.write({"state": "sent", "sent_date": "2026-06-15 09:00:00"})
        third = self._as_ab(escalated)._action_escalate()
        self.assertEqual(third.level_id, self.level_2)
        self.assertEqual(third.template_id, self.template_2)

    def test_check_company_in_batches(self):
        """The batch company check (kpulse.dunning.company.check) refuses
        what Odoo's own check refuses, whichever record of a batch is wrong,
        and lets a consistent batch through."""
        Line = self.env["kpulse.dunning.line"]
        invoices_b = self._invoice_of_b(35) | self._invoice_of_b(36)
        invoice_a = self._overdue_invoice(37)
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                Line.create(
                    [
                        {"dunning_id": self.dunning_b.id, "move_id": move.id}
                        for move in invoices_b | invoice_a
                    ]
                )
        lines = Line.create(
            [
                {"dunning_id": self.dunning_b.id, "move_id": move.id}
                for move in invoices_b
            ]
        )
        self.assertEqual(lines.company_id, self.company_b)
        # A batch of reminders: one of them with another company's template.
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                (self.dunning_b | self._create_dunnings(invoice_a)).write(
                    {"template_id": self.template_2_a.id}
                )

    def test_batch_lines_check_company(self):
        """Batches insert their lines flat (kpulse.dunning.line._insert_batch):
        an invoice of another company than its reminder's is refused as the
        ORM would refuse it, with Odoo's message, and nothing is kept."""
        Dunning = self.env["kpulse.dunning"]
        invoice_a = self._overdue_invoice(41)
        vals = Dunning._prepare_vals(invoice_a, self.template_2)
        vals["company_id"] = self.company_b.id
        count = Dunning.search_count([])
        with self.assertRaisesRegex(UserError, "move_id"):
            with self.env.cr.savepoint():
                Dunning._create_batch([vals])
        self.assertEqual(Dunning.search_count([]), count)
        # The same invoice in its own company's reminder goes through.
        vals = Dunning._prepare_vals(invoice_a, self.template_2)
        dunning = Dunning._create_batch([vals])
        self.assertEqual(dunning.line_ids.move_id, invoice_a)
        self.assertEqual(dunning.line_ids.company_id, self.company_a)
        self.assertEqual(dunning.amount_residual, invoice_a.amount_residual)

    def test_batch_applies_record_rules(self):
        """Reminders inserted flat by a batch go through the record rules as
        created: a user of company A only cannot create company B's."""
        user_a = new_test_user(
            self.env,
            login="kpulse_user_a_only",
            groups="account.group_account_invoice",
            company_id=self.company_a.id,
            company_ids=self.company_a.ids,
        )
        invoice_b = self._invoice_of_b(38)
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(invoice_b, self.template_b)
        count = Dunning.search_count([])
        with self.assertRaises(AccessError):
            with self.env.cr.savepoint():
                Dunning.with_user(user_a)._create_batch([vals])
        self.assertEqual(Dunning.search_count([]), count)
        # The company's own reminders go through, with B's reference.
        dunning = Dunning.with_user(self.user_ab)._create_batch([vals])
        self.assertEqual(dunning.company_id, self.company_b)
        self.assertTrue(dunning.name.startswith("RB/"), dunning.name)

    def test_batch_refuses_other_company_template(self):
        """Odoo's company check on the reminders of a batch: an invoice of
        company B reminded with a template of company A is refused."""
        invoice_b = self._invoice_of_b(39)
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(invoice_b, self.template_2_a)
        count = Dunning.search_count([])
        with self.assertRaisesRegex(UserError, "template_id"):
            with self.env.cr.savepoint():
                Dunning._create_batch([vals])
        # In a batch of one company, the wrong one among right ones.
        right = Dunning._prepare_vals(self._invoice_of_b(40), self.template_b)
        with self.assertRaisesRegex(UserError, "template_id"):
            with self.env.cr.savepoint():
                Dunning._create_batch([right, vals, right])
        # Many linked records are checked in SQL, with the same outcome.
        with patch.object(company_check, "MANY_LINKED", 0):
            with self.assertRaisesRegex(UserError, "template_id"):
                with self.env.cr.savepoint():
                    Dunning._create_batch([right, vals, right])
            with self.env.cr.savepoint() as savepoint:
                self.assertEqual(len(Dunning._create_batch([right, right])), 2)
                savepoint.rollback()
        self.assertEqual(Dunning.search_count([]), count)

    def test_default_template_of_company(self):
        self.assertEqual(
            self.level_2._get_default_template(self.company_b), self.template_2
        )
        self.assertEqual(
            self.level_2._get_default_template(self.company_a), self.template_2_a
        )

    def test_check_company_on_reminder(self):
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                self.dunning_b.template_id = self.template_2_a
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                self.env["kpulse.dunning.line"].create(
                    {
                        "dunning_id": self.dunning_b.id,
                        "move_id": self._overdue_invoice(5).id,
                    }
                )
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                self.template_b.level_id = self.level_a
        with self.assertRaises(UserError):
            with self.env.cr.savepoint():
                self.dunning_b.write({"level_id": self.level_a.id})
        # The wizard refuses a template of another company than the invoices.
        wizard = self.env["kpulse.dunning.create"].create(
            {
                "move_ids": [Command.set(self._overdue_invoice(40).ids)],
                "template_id": self.template_b.id,
            }
        )
        with self.assertRaisesRegex(UserError, "another company"):
            wizard._create_dunnings()
