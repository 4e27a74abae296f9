"""Reminders created by the thousand (kpulse.dunning.batch): the flat insert
keeps what the ORM's create guarantees (issue 9)."""

import psycopg2
from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..models.kpulse_dunning_batch import array_literal
from .common import TODAY, KpulseDunningCommon

# Fields a reminder created in a batch must share with the same reminder
# created through the ORM.
SAME_FIELDS = (
    "partner_id",
    "partner_invoice_id",
    "company_id",
    "currency_id",
    "user_id",
    "level_id",
    "template_id",
    "state",
    "claim_type",
    "date",
    "penalty_date",
    "previous_id",
    "escalated_id",
    "run_id",
    "amount_residual",
    "penalty_total",
    "indemnity_total",
    "amount_claimed",
)
LINE_FIELDS = (
    "move_id",
    "currency_id",
    "amount_residual",
    "invoice_date_due",
    "days_overdue",
    "penalty_amount",
    "indemnity_amount",
    "penalty_rate",
)


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningBatch(KpulseDunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.kpulse_penalty_apply = True
        cls.invoices = cls._overdue_invoice(40, amount=1000.0) | cls._overdue_invoice(
            75, amount=333.33
        )

    def _line_values(self, dunning):
        return sorted(
            tuple(line[name] for name in LINE_FIELDS)
            + (len(line.penalty_ids), sum(line.penalty_ids.mapped("amount")))
            for line in dunning.line_ids
        )

    def test_cache_matches_database(self):
        """What the batch leaves in cache is what the database holds: the
        code that reads the new reminders right after their creation sees
        the values read back later."""
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(self.invoices, self.template_1)
        batch = Dunning._create_batch([vals])
        stored = [
            name
            for name, field in Dunning._fields.items()
            if field.store and field.column_type
        ]
        plain = [name for name in stored if not Dunning._fields[name].compute]
        with self.assertQueryCount(0):  # nothing fetched back
            cached = {name: batch[name] for name in plain}
        cached.update((name, batch[name]) for name in stored if name not in cached)
        self.env.flush_all()
        self.env.invalidate_all()
        for name in stored:
            self.assertEqual(batch[name], cached[name], name)

    def test_batch_matches_orm_create(self):
        """Same values, read back from the database, as the ORM's create of
        the same values: defaults, totals, lines, penalty periods."""
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(self.invoices, self.template_1)
        batch = Dunning._create_batch([vals])
        orm = Dunning.create(vals)
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertTrue(batch.penalty_total, "the test needs penalties")
        for name in SAME_FIELDS:
            self.assertEqual(batch[name], orm[name], name)
        self.assertEqual(
            batch.amount_claimed,
            batch.amount_residual + batch.penalty_total + batch.indemnity_total,
        )
        self.assertEqual(self._line_values(batch), self._line_values(orm))
        # A reference of its own from the company's sequence, the log columns
        # (the lines and their periods share their reminder's).
        self.assertNotIn(batch.name, ("/", orm.name))
        self.assertEqual(batch.name[:3], orm.name[:3])
        self.assertEqual(batch.create_uid, self.env.user)
        self.assertTrue(batch.line_ids.penalty_ids)
        # The caller's values are left as given (the line commands too).
        self.assertEqual(len(vals["line_ids"]), 2)

    def test_batch_of_many_keeps_each_reminder_its_values(self):
        Dunning = self.env["kpulse.dunning"]
        invoices = self.invoices | self._overdue_invoice(
            12, amount=50.0, partner=self.customer_2
        )
        vals_list = [Dunning._prepare_vals(move, self.template_1) for move in invoices]
        dunnings = Dunning._create_batch(vals_list)
        self.env.invalidate_all()
        self.assertEqual(len(dunnings), 3)
        self.assertEqual(len(set(dunnings.mapped("name"))), 3)
        for dunning, move in zip(dunnings, invoices, strict=True):
            self.assertEqual(dunning.line_ids.move_id, move)
            self.assertEqual(dunning.partner_id, move.commercial_partner_id)
            self.assertEqual(dunning.amount_residual, move.amount_residual)

    def test_escalation_links_successor(self):
        """The reminder escalated from points to its successor, at once (its
        successors read before are read again) and from the database."""
        dunning = self._create_dunnings(self.invoices[0])
        dunning.write({"state": "sent", "sent_date": "2026-06-14 09:00:00"})
        self.assertFalse(dunning.next_ids)
        self.assertFalse(dunning.escalated_id)
        successor = dunning._action_escalate()
        self.assertEqual(dunning.next_ids, successor)
        self.assertEqual(dunning.escalated_id, successor)
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(successor.previous_id, dunning)
        self.assertEqual(dunning.escalated_id, successor)
        self.assertFalse(successor.escalated_id)
        # A second successor not cancelled is refused by the database.
        with self.assertRaises(psycopg2.errors.UniqueViolation):
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                successor.copy({"previous_id": dunning.id})

    def test_array_literal_round_trip(self):
        """The flat inserts bind each column as the text of one array: every
        value reads back as given, whatever characters a text holds."""
        texts = [
            "REM/2026/00001",
            'Dupont "et fils", {Lyon}',
            "back\\slash\\",
            "NULL",
            "",
            " spaced ",
            "Société générale — à payer",
            None,
        ]
        self.env.cr.execute("SELECT unnest(%s::varchar[])", [array_literal(texts)])
        self.assertEqual([row[0] for row in self.env.cr.fetchall()], texts)
        days = [TODAY, None]
        self.env.cr.execute("SELECT unnest(%s::date[])", [array_literal(days)])
        self.assertEqual([row[0] for row in self.env.cr.fetchall()], days)
        numbers = [1234.56, -0.01, 1e-05, 0.1 + 0.2, None]
        self.env.cr.execute("SELECT unnest(%s::float8[])", [array_literal(numbers)])
        self.assertEqual([row[0] for row in self.env.cr.fetchall()], numbers)
        self.env.cr.execute(
            "SELECT unnest(%s::int4[]), unnest(%s::bool[])",
            [array_literal([7, None]), array_literal([True, False])],
        )
        self.assertEqual(self.env.cr.fetchall(), [(7, True), (None, False)])

    def test_batch_refused_without_create_right(self):
        salesman = new_test_user(
            self.env,
            login="kpulse_batch_salesman",
            groups="sales_team.group_sale_salesman",
        )
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(self.invoices[0], self.template_1)
        count = Dunning.search_count([])
        with self.assertRaises(AccessError):
            Dunning.with_user(salesman)._create_batch([vals])
        self.assertEqual(Dunning.search_count([]), count)

    def test_batch_lines_need_their_own_create_right(self):
        """A user who may create reminders but not their lines creates
        nothing: the flat insert of the lines checks their own rights."""
        group = self.env["res.groups"].create({"name": "Reminders, no lines"})
        self.env["ir.model.access"].create(
            [
                {
                    "name": "reminders",
                    "model_id": self.env.ref("kpulse_dunning.model_kpulse_dunning").id,
                    "group_id": group.id,
                    "perm_read": True,
                    "perm_write": True,
                    "perm_create": True,
                },
                {
                    "name": "lines, read only",
                    "model_id": self.env.ref(
                        "kpulse_dunning.model_kpulse_dunning_line"
                    ).id,
                    "group_id": group.id,
                    "perm_read": True,
                },
            ]
        )
        user = new_test_user(
            self.env, login="kpulse_no_lines", groups="base.group_user"
        )
        user.write({"group_ids": [Command.link(group.id)]})
        Dunning = self.env["kpulse.dunning"]
        vals = Dunning._prepare_vals(self.invoices[0], self.template_1)
        count = Dunning.search_count([])
        with self.assertRaisesRegex(AccessError, "Payment Reminder Invoice"):
            with self.env.cr.savepoint():
                Dunning.with_user(user)._create_batch([vals])
        self.assertEqual(Dunning.search_count([]), count)
