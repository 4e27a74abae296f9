from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.kpulse_dunning.models import kpulse_dunning_send_queue as queue_module
from odoo.addons.kpulse_dunning.tests.common import TODAY, KpulseQueueCommon
from odoo.addons.queue_job.tests.common import trap_jobs


@tagged("post_install", "-at_install")
@freeze_time(TODAY)
class TestQueueJobPath(KpulseQueueCommon):
    def test_send_runs_as_queue_jobs(self):
        Send = self.env["kpulse.dunning.send"]
        with trap_jobs() as trap, self.mock_mail_gateway():
            self.dunnings.with_user(self.billing_user).action_send()
            run = self.dunnings.run_id
            trap.assert_jobs_count(2)
            trap.assert_enqueued_job(
                Send._job_process_batch,
                args=(run.id, self.dunnings[:2].ids),
                properties={"channel": "root.kpulse_dunning"},
            )
            trap.assert_enqueued_job(
                Send._job_process_batch,
                args=(run.id, self.dunnings[2:].ids),
                properties={"channel": "root.kpulse_dunning"},
            )
            trap.perform_enqueued_jobs()
        self.assertEqual(set(self.dunnings.mapped("state")), {"sent"})
        self.assertFalse(self.dunnings.run_id)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.sent_count, 3)

    def test_jobs_fit_in_the_worker_limits(self):
        """A job runs in an HTTP worker: with invoice PDFs to render and the
        budget of one such reminder (by the first estimate), each job holds
        one reminder instead of a batch of two."""
        self.template_1.attach_invoice = True
        Send = self.env["kpulse.dunning.send"]
        one = queue_module.SECONDS_PER_REMINDER + queue_module.SECONDS_PER_INVOICE_PDF
        with (
            trap_jobs() as trap,
            patch.object(type(Send), "_job_time_budget", return_value=one * 1.2),
        ):
            self.dunnings.with_user(self.billing_user).action_send()
            trap.assert_jobs_count(3)
            for dunning in self.dunnings:
                trap.assert_enqueued_job(
                    Send._job_process_batch, args=(dunning.run_id.id, dunning.ids)
                )

    def test_same_batch_twice_is_one_job(self):
        """identity_key: queuing the same batch again adds no job."""
        with trap_jobs() as trap:
            self.dunnings.with_user(self.billing_user).action_send()
            run = self.dunnings.run_id
            self.env["kpulse.dunning.send"]._schedule(run)
            trap.assert_jobs_count(2)

    def test_job_skips_what_is_already_done(self):
        with trap_jobs() as trap, self.mock_mail_gateway():
            self.dunnings.with_user(self.billing_user).action_send()
            # The cron got there first.
            with self.enter_registry_test_mode():
                self.env.ref(
                    "kpulse_dunning.ir_cron_kpulse_dunning_queue"
                ).method_direct_trigger()
            self.assertEqual(set(self.dunnings.mapped("state")), {"sent"})
            trap.perform_enqueued_jobs()
        mails = self._new_mails.filtered(
            lambda m: m.model == "kpulse.dunning" and m.res_id in self.dunnings.ids
        )
        self.assertEqual(len(mails), 3, "each reminder sent once")
