"""The background engine: big Send and Print are queued, the cron processes
them in batches, failures stay on their reminders (issue 9)."""

import io
import itertools
import time
from types import SimpleNamespace
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import config
from odoo.tools.pdf import PdfFileReader

from odoo.addons.kpulse_dunning.models import kpulse_dunning_send_queue as queue_module

from .common import TODAY, KpulseQueueCommon

QUEUE_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_queue"


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestDunningQueue(KpulseQueueCommon):
    def _notification_of(self, run):
        # sudo: an inbox notification is readable by its recipient only.
        return (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", run._name),
                    ("res_id", "=", run.id),
                    ("partner_ids", "in", self.billing_user.partner_id.ids),
                ]
            )
        )

    def _mails_of(self, dunnings):
        return self._new_mails.filtered(
            lambda mail: mail.model == "kpulse.dunning" and mail.res_id in dunnings.ids
        )

    def test_small_send_is_immediate(self):
        with self.mock_mail_gateway():
            result = self.dunnings[:2].with_user(self.billing_user).action_send()
        self.assertIn("2 reminder(s) sent.", result["params"]["message"])
        self.assertEqual(set(self.dunnings[:2].mapped("state")), {"sent"})
        self.assertFalse(self.dunnings.run_id)

    def test_big_send_is_queued_then_sent_by_cron(self):
        dunnings = self.dunnings.with_user(self.billing_user)
        with self.mock_mail_gateway():
            result = dunnings.action_send()
            self.assertIn("3 reminder(s) queued", result["params"]["message"])
            run = self.dunnings.run_id
            self.assertEqual(len(run), 1)
            self.assertEqual(run.user_id, self.billing_user)
            self.assertEqual(set(self.dunnings.mapped("state")), {"draft"})
            self.assertFalse(self._mails_of(self.dunnings), "nothing sent yet")
            self.assertEqual(
                self.env["kpulse.dunning"].search_count([("run_id", "!=", False)]), 3
            )
            # A second click on queued reminders queues nothing twice.
            with self.assertRaisesRegex(UserError, "already"):
                dunnings.action_send()
            # And a small click on a queued one does not send it now.
            result = dunnings[:1].action_send()
            self.assertIn("1 reminder(s) skipped", result["params"]["message"])
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual(set(self.dunnings.mapped("state")), {"sent"})
        self.assertFalse(self.dunnings.run_id)
        self.assertEqual(len(self._mails_of(self.dunnings)), 3, "one mail each")
        self.assertEqual(run.state, "done")
        self.assertEqual(run.sent_count, 3)
        notification = self._notification_of(run)
        self.assertTrue(notification, "the user who asked is notified")
        self.assertIn("3 reminder(s) sent.", notification[0].body)

    def test_cron_job_stops_within_worker_limits(self):
        """A cron job takes what fits in its share of the worker's limits
        (a worker past limit_time_real or limit_time_cpu is killed and its
        batch rolled back, again and again) and leaves the rest queued for
        the next job; a job always sends at least one reminder."""
        Send = self.env["kpulse.dunning.send"]
        self.assertEqual(
            Send._job_time_budget(),
            min(config["limit_time_real"], config["limit_time_cpu"]) * 0.4,
        )
        # Invoice PDFs to render cost most; the first estimates say so.
        self.template_1.attach_invoice = True
        estimates = Send._estimated_seconds(self.dunnings)
        self.assertAlmostEqual(
            estimates[self.dunnings[0]],
            queue_module.SECONDS_PER_REMINDER + queue_module.SECONDS_PER_INVOICE_PDF,
        )
        self.template_1.attach_invoice = False
        self.assertAlmostEqual(
            Send._estimated_seconds(self.dunnings[:1])[self.dunnings[0]], 0.15
        )
        self.assertEqual(Send._fitting_count(self.dunnings, 0.31), 2)
        self.assertEqual(Send._fitting_count(self.dunnings, 0.0), 1)

        # A job with 1.1 s of budget on a clock that moves one second each
        # time the engine reads it (the test's clock is frozen): the first
        # batch holds one reminder (0.1 s left), then the budget is spent.
        cron = self.env.ref(QUEUE_CRON)
        start, ticks = time.monotonic(), itertools.count(1)
        clock = SimpleNamespace(monotonic=lambda: start + next(ticks))
        with (
            self.mock_mail_gateway(),
            patch.object(queue_module, "time", clock),
            patch.object(type(Send), "_job_time_budget", return_value=1.1),
        ):
            self.dunnings.with_user(self.billing_user).action_send()
            with self.enter_registry_test_mode():
                cron.method_direct_trigger()
        self.assertEqual(len(self.dunnings.filtered(lambda d: d.state == "sent")), 1)
        self.assertEqual(
            len(self.dunnings.filtered("run_id")), 2, "left for the next job"
        )
        # Odoo runs the job again at once ("partially done", and the engine's
        # own trigger wakes a worker), and the next job goes on where this
        # one stopped.
        self.assertTrue(
            self.env["ir.cron.trigger"]
            .sudo()
            .search([("cron_id", "=", cron.id), ("call_at", "<=", self.env.cr.now())])
        )
        with self.mock_mail_gateway(), self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.assertEqual(set(self.dunnings.mapped("state")), {"sent"})
        self.assertFalse(self.dunnings.run_id)

    def test_sending_wakes_the_mail_queue(self):
        """The e-mails leave with the mail queue's next run, which the
        sending asks for instead of waiting for its hourly call."""
        mail_cron = self.env.ref("mail.ir_cron_mail_scheduler_action")
        Trigger = self.env["ir.cron.trigger"].sudo()
        before = Trigger.search([("cron_id", "=", mail_cron.id)])
        with self.mock_mail_gateway():
            self.dunnings[:1].with_user(self.billing_user).action_send()
        self.assertEqual(self.dunnings[:1].state, "sent")
        self.assertTrue(Trigger.search([("cron_id", "=", mail_cron.id)]) - before)

    def test_big_run_wakes_both_queue_crons(self):
        """A run of more than one batch wakes the two queue crons, so that
        Odoo's two cron workers share it; a run of one batch wakes one."""
        crons = self.env.ref(QUEUE_CRON) | self.env.ref(QUEUE_CRON + "_2")
        Trigger = self.env["ir.cron.trigger"].sudo()
        before = Trigger.search([("cron_id", "in", crons.ids)])
        # The engine's own _schedule (the queue_job glue, when installed,
        # replaces it with jobs).
        schedule = queue_module.KpulseDunningSend._schedule
        Send = self.env["kpulse.dunning.send"]
        with patch.object(type(Send), "_schedule", schedule):
            self.dunnings.with_user(self.billing_user).action_send()  # 3 > batch of 2
        woken = Trigger.search([("cron_id", "in", crons.ids)]) - before
        self.assertEqual(woken.cron_id, crons)
        self.env["ir.config_parameter"].set_param("kpulse_dunning.batch_size", 3)
        self.dunnings.run_id = False
        with patch.object(type(Send), "_schedule", schedule):
            self.dunnings.with_user(self.billing_user).action_send()
        woken = Trigger.search([("cron_id", "in", crons.ids)]) - before - woken
        self.assertEqual(woken.cron_id, crons[:1])
        # Both crons serve the same queue with the same code.
        self.assertEqual(set(crons.mapped("code")), {"model._cron_process_queue()"})

    def test_failures_stay_on_their_reminders(self):
        """A reminder that fails is marked with its reason; a batch that
        fails as a whole does not stop the next one."""
        self.customer_2.email = False
        Letter = type(self.env["report.kpulse_dunning.report_dunning_letter"])
        original = Letter._render_letter_pdfs
        calls = []

        def fail_first_batch(model, dunnings, letters=None, workers=1):
            calls.append(dunnings)
            if len(calls) == 1:
                raise UserError(model.env._("Wkhtmltopdf failed (error code: -11)."))
            return original(model, dunnings, letters, workers=workers)

        with (
            self.mock_mail_gateway(),
            patch.object(Letter, "_render_letter_pdfs", fail_first_batch),
        ):
            self.dunnings.with_user(self.billing_user).action_send()
            run = self.dunnings.run_id
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        first_batch, no_email = self.dunnings[:2], self.dunnings[2]
        self.assertEqual(set(first_batch.mapped("state")), {"failed"})
        self.assertIn("Wkhtmltopdf failed", first_batch[0].failure_reason)
        self.assertEqual(no_email.state, "failed")
        self.assertIn("no e-mail address", no_email.failure_reason)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.failed_count, 3)
        self.assertFalse(self.dunnings.run_id, "the queue is empty")
        # Failed reminders can be sent again.
        self.customer_2.email = "again@example.com"
        with self.mock_mail_gateway():
            self.dunnings.with_user(self.billing_user)[:2].action_send()
        self.assertEqual(set(first_batch.mapped("state")), {"sent"})

    def test_paid_meanwhile(self):
        self.dunnings.with_user(self.billing_user).action_send()
        run = self.dunnings.run_id
        self._pay(self.dunnings[0].line_ids.move_id)
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual(self.dunnings[0].state, "paid")
        self.assertEqual(run.paid_count, 1)
        self.assertEqual(run.sent_count, 2)
        self.assertIn("paid meanwhile", "\n".join(run._summary()))

    def test_cancel_takes_out_of_queue(self):
        self.dunnings.with_user(self.billing_user).action_send()
        self.dunnings[0].action_cancel()
        self.assertFalse(self.dunnings[0].run_id)
        with self.mock_mail_gateway():
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual(self.dunnings[0].state, "cancel")
        self.assertEqual(set(self.dunnings[1:].mapped("state")), {"sent"})

    def test_big_print_is_queued_and_delivered_as_one_pdf(self):
        action = self.dunnings.with_user(self.billing_user).action_print()
        self.assertEqual(action["tag"], "display_notification")
        run = self.dunnings.run_id
        self.assertEqual(run.action, "print")
        # The batch as the cron processes it, with real PDFs (the cron's own
        # environment would not force them in a test).
        with self.allow_pdf_render():
            run.with_context(force_report_rendering=True)._process(self.dunnings)
            run._finish_done_runs()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.printed_count, 3)
        self.assertTrue(run.pdf_id.raw.startswith(b"%PDF"))
        pages = PdfFileReader(io.BytesIO(run.pdf_id.raw)).numPages
        self.assertGreaterEqual(pages, 3, "every letter is in the document")
        notification = self._notification_of(run)
        self.assertEqual(notification.attachment_ids, run.pdf_id)
        self.assertEqual(set(self.dunnings.mapped("state")), {"draft"})

    def test_cron_batches_commit_progress(self):
        """The queue is processed in batches of the configured size."""
        self.dunnings.with_user(self.billing_user).action_send()
        Send = type(self.env["kpulse.dunning.send"])
        with (
            self.mock_mail_gateway(),
            patch.object(Send, "_send", autospec=True, wraps=Send._send) as send,
        ):
            with self.enter_registry_test_mode():
                self.env.ref(QUEUE_CRON).method_direct_trigger()
        self.assertEqual([len(call.args[1]) for call in send.call_args_list], [2, 1])
