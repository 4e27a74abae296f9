"""Two users at once, each with a cursor of its own (issue 8, finding 6).

The data is committed, as two HTTP requests would see it, and removed after.
"""

from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestTwoUsersAtOnce(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = sql_db.db_connect(get_db_name())
        with cls.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create(
                {
                    "name": "Concurrent Customer",
                    "is_company": True,
                    "email": "c@x.example",
                }
            )
            today = fields.Date.context_today(env["res.partner"])
            invoices = env["account.move"].create(
                [
                    {
                        "move_type": "out_invoice",
                        "partner_id": partner.id,
                        "invoice_date": today - timedelta(days=60),
                        "invoice_date_due": today - timedelta(days=30),
                        "invoice_line_ids": [
                            Command.create(
                                {"name": "Work", "quantity": 1, "price_unit": 100.0}
                            )
                        ],
                    }
                    for _i in range(11)
                ]
            )
            invoices.action_post()
            cls.partner_id = partner.id
            cls.invoice_ids = invoices.ids
        cls.addClassCleanup(cls._remove_data)

    @classmethod
    def _remove_data(cls):
        with cls.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # Raw SQL in a test: sent reminders are kept by unlink() on purpose.
            reminders = "(SELECT id FROM kpulse_dunning WHERE partner_id = %s)"
            for table, model_column in (
                ("mail_message", "model"),
                ("ir_attachment", "res_model"),
                ("mail_followers", "res_model"),
            ):
                cr.execute(
                    f"DELETE FROM {table} WHERE {model_column} = 'kpulse.dunning'"
                    f" AND res_id IN {reminders}",
                    [cls.partner_id],
                )
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'account.move'"
                " AND res_id IN %s AND message_type = 'notification'",
                [tuple(cls.invoice_ids)],
            )
            cr.execute(
                "DELETE FROM kpulse_dunning WHERE partner_id = %s", [cls.partner_id]
            )
            cr.execute("DELETE FROM kpulse_dunning_run")
            invoices = env["account.move"].browse(cls.invoice_ids)
            invoices.button_draft()
            invoices.with_context(force_delete=True).unlink()
            env["res.partner"].browse(cls.partner_id).unlink()

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def _committed(self, work):
        with self.db.cursor() as cr:
            return work(self._env(cr))

    def _sent_reminder(self, invoice_id):
        def create(env):
            wizard = env["kpulse.dunning.create"].create(
                {
                    "move_ids": [Command.set([invoice_id])],
                    "template_id": env.ref(
                        "kpulse_dunning.kpulse_dunning_template_1"
                    ).id,
                }
            )
            dunnings, _duplicates = wizard._create_dunnings()
            dunnings.write({"state": "sent", "sent_date": fields.Datetime.now()})
            return dunnings.id

        return self._committed(create)

    def _count_escalations(self, dunning_id):
        return self._committed(
            lambda env: env["kpulse.dunning"].search_count(
                [("previous_id", "=", dunning_id)]
            )
        )

    @mute_logger("odoo.sql_db")
    def test_escalate_after_other_commits(self):
        """The second user's transaction began before the first committed:
        the database refuses it a second successor, Odoo turns that into a
        message, and the next click is refused."""
        dunning_id = self._sent_reminder(self.invoice_ids[0])
        with self.db.cursor() as cr_b:
            env_b = self._env(cr_b)
            env_b["kpulse.dunning"].browse(dunning_id).state  # noqa: B018 snapshot
            self._committed(
                lambda env: env["kpulse.dunning"].browse(dunning_id)._action_escalate()
            )
            # As a request runs it: the violation becomes a message.
            with self.assertRaisesRegex(ValidationError, "escalated by someone else"):
                retrying(
                    env_b["kpulse.dunning"].browse(dunning_id)._action_escalate,
                    env_b,
                )
            cr_b.rollback()
        with self.assertRaisesRegex(UserError, "already escalated"):
            self._committed(
                lambda env: env["kpulse.dunning"].browse(dunning_id)._action_escalate()
            )
        self.assertEqual(self._count_escalations(dunning_id), 1)

    def test_escalate_while_other_works(self):
        """Both at the same moment: the second one is told to try again."""
        dunning_id = self._sent_reminder(self.invoice_ids[1])
        with self.db.cursor() as cr_a, self.db.cursor() as cr_b:
            self._env(cr_a)["kpulse.dunning"].browse(dunning_id)._action_escalate()
            with self.assertRaisesRegex(UserError, "Another user"):
                self._env(cr_b)["kpulse.dunning"].browse(dunning_id)._action_escalate()
            cr_b.rollback()
            cr_a.commit()
        self.assertEqual(self._count_escalations(dunning_id), 1)

    def test_create_while_other_creates(self):
        """Two users create reminders for the same invoice at once."""
        invoice_id = self.invoice_ids[2]
        template_xmlid = "kpulse_dunning.kpulse_dunning_template_1"

        def wizard(env):
            return env["kpulse.dunning.create"].create(
                {
                    "move_ids": [Command.set([invoice_id])],
                    "template_id": env.ref(template_xmlid).id,
                }
            )

        with self.db.cursor() as cr_a, self.db.cursor() as cr_b:
            wizard_b = wizard(self._env(cr_b))
            wizard(self._env(cr_a))._create_dunnings()
            with self.assertRaisesRegex(UserError, "Another user"):
                wizard_b._create_dunnings()
            cr_b.rollback()
            cr_a.commit()
        with self.assertRaisesRegex(UserError, "already have a reminder"):
            self._committed(lambda env: wizard(env)._create_dunnings())
        count = self._committed(
            lambda env: env["kpulse.dunning.line"].search_count(
                [("move_id", "=", invoice_id)]
            )
        )
        self.assertEqual(count, 1)

    def _queued(self, invoice_ids):
        def queue(env):
            template = env.ref("kpulse_dunning.kpulse_dunning_template_1")
            wizard = env["kpulse.dunning.create"].create(
                {"move_ids": [Command.set(invoice_ids)], "template_id": template.id}
            )
            dunnings, _duplicates = wizard._create_dunnings()
            env["kpulse.dunning.send"]._queue(dunnings, "send")
            return dunnings.ids

        return self._committed(queue)

    def _sent_once(self, dunning_ids):
        """Whether each reminder was sent, once, and the queue is empty."""

        def outcome(env):
            dunnings = env["kpulse.dunning"].browse(dunning_ids)
            messages = env["mail.message"].search_count(
                [
                    ("model", "=", "kpulse.dunning"),
                    ("res_id", "in", dunning_ids),
                    ("message_type", "=", "comment"),
                ]
            )
            return set(dunnings.mapped("state")), dunnings.run_id, messages

        states, runs, messages = self._committed(outcome)
        self.assertEqual(states, {"sent"})
        self.assertFalse(runs, "the queue is empty")
        self.assertEqual(messages, len(dunning_ids), "each reminder sent once")

    def test_worker_started_before_other_committed(self):
        """A cron worker whose transaction began before another worker
        committed a batch of the same queue fails to lock that batch: it
        starts again from a fresh snapshot, takes the rest, and logs no
        error for a conflict it expects."""
        dunning_ids = self._queued(self.invoice_ids[7:11])
        with self.db.cursor() as cr_b:
            env_b = self._env(cr_b)
            env_b["kpulse.dunning"].browse(dunning_ids).mapped("run_id")  # snapshot
            with self.db.cursor() as cr_a:
                env_a = self._env(cr_a)
                batch_a = env_a["kpulse.dunning"].browse(dunning_ids[:2])
                for run, dunnings in batch_a.grouped("run_id").items():
                    run._process(dunnings)
                cr_a.commit()
            with self.assertNoLogs("odoo.sql_db", level="ERROR"):
                env_b["kpulse.dunning.send"]._cron_process_queue()
            cr_b.commit()
        self._sent_once(dunning_ids)

    def test_two_workers_on_one_queue(self):
        """Two cron workers take different batches of one queue: every
        reminder is processed once."""
        dunning_ids = self._queued(self.invoice_ids[3:7])
        Param = "ir.config_parameter"
        self._committed(
            lambda env: env[Param].set_param("kpulse_dunning.batch_size", 2)
        )
        try:
            with self.db.cursor() as cr_a, self.db.cursor() as cr_b:
                env_a, env_b = self._env(cr_a), self._env(cr_b)
                pending = env_a["kpulse.dunning"].browse(dunning_ids)
                batch_a = pending.try_lock_for_update(limit=2)
                self.assertEqual(len(batch_a), 2)
                # Worker B runs while A holds its batch: it takes the others.
                env_b["kpulse.dunning.send"]._cron_process_queue()
                for run, dunnings in batch_a.grouped("run_id").items():
                    run._process(dunnings)
                cr_a.commit()
        finally:
            self._committed(
                lambda env: env[Param].set_param("kpulse_dunning.batch_size", False)
            )
        self._sent_once(dunning_ids)
