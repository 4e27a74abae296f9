from odoo import api, models

from odoo.addons.queue_job.job import identity_exact

CHANNEL = "root.kpulse_dunning"


class KpulseDunningSend(models.AbstractModel):
    """Glue only: the engine's batches become queue jobs.

    The job runner spreads the jobs over every Odoo server of the database;
    each job processes its batch with the engine's own code, locks included,
    so the cron (still there) and the jobs never process a reminder twice.
    """

    _inherit = "kpulse.dunning.send"

    @api.model
    def _schedule(self, run):
        batch_size = self._batch_size()
        # A job runs in an HTTP worker, under limit_time_real and
        # limit_time_cpu: each holds what the engine estimates it can do
        # within its share of them (invoice PDFs to render cost most).
        budget = self._job_time_budget()
        # In the cron's order (by id), whatever the cache holds: the same run
        # always gives the same batches, which identity_key relies on.
        # sudo: only the ids of the run's reminders are read, to cut them
        # into batches; a record rule must not leave part of a queued run
        # without a job.
        dunnings = run.sudo().dunning_ids.sorted("id")
        start = 0
        while start < len(dunnings):
            chunk = dunnings[start : start + batch_size]
            if budget:
                chunk = chunk[: self._fitting_count(chunk, budget)]
            batch_ids = chunk.ids
            self.sudo().with_delay(
                channel=CHANNEL,
                identity_key=identity_exact,
                description=self.env._(
                    "%(run)s: reminders %(first)s to %(last)s",
                    run=run.name,
                    first=start + 1,
                    last=start + len(batch_ids),
                ),
            )._job_process_batch(run.id, batch_ids)
            start += len(batch_ids)

    @api.model
    def _job_process_batch(self, run_id, dunning_ids):
        """Process one batch of a run; reminders another worker holds or has
        already processed are left out."""
        dunnings = (
            self.env["kpulse.dunning"]
            .browse(dunning_ids)
            .exists()
            .filtered(lambda d: d.run_id.id == run_id)
        )
        batch = dunnings.try_lock_for_update()
        if batch:
            batch.run_id._process(batch)
        self.env["kpulse.dunning.run"]._finish_done_runs()
        return self.env._("%(count)s reminder(s) processed.", count=len(batch))
