import os
import time

import psycopg2

from odoo import api, fields, models
from odoo.tools import config, mute_logger

from odoo.addons.base.models.ir_cron import MIN_TIME_PER_JOB

# Up to this many reminders, Send and Print run in the request; above, they
# are queued for the background engine (ir.config_parameter to change it).
IMMEDIATE_LIMIT_PARAM = "kpulse_dunning.immediate_limit"
IMMEDIATE_LIMIT = 20
# Reminders the engine takes, locks, processes and commits at once.
BATCH_SIZE_PARAM = "kpulse_dunning.batch_size"
BATCH_SIZE = 200
QUEUE_CRON = "kpulse_dunning.ir_cron_kpulse_dunning_queue"
# A cron job must end well within the worker's limits (limit_time_real and
# limit_time_cpu: 120 s and 60 s by default), or the worker is killed and
# the batch rolled back, again and again: a job uses this share of them.
JOB_TIME_SHARE = 0.4
# First estimates of the wall time a batch takes, refined by what the job
# measures: rendering, posting and the letter of one reminder, and one
# invoice PDF to render and store (rendered in chunks, one wkhtmltopdf run
# for many: 0.06 to 0.15 s of a cron worker each, measured on 2 cores,
# against 1.3 s with one run per invoice; report/kpulse_invoice_pdf.py).
SECONDS_PER_REMINDER = 0.15
SECONDS_PER_INVOICE_PDF = 0.25
# A job's first batch is small: a loaded server can be several times slower
# than the estimates, and the job only knows its own pace after one batch.
FIRST_BATCH_SIZE = 10
# Every scheduled action serving the queue (see data/ir_cron_data.xml).
QUEUE_CRONS = (QUEUE_CRON, "kpulse_dunning.ir_cron_kpulse_dunning_queue_2")


class KpulseDunningSend(models.AbstractModel):
    """The engine's queue: when Send and Print go to the background, the
    runs they queue, the crons that wake for them, and the batches a cron
    job takes within the worker's limits."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning.send"  # pylint: disable=consider-merging-classes-inherited

    # === LIMITS === #

    @api.model
    def _immediate_limit(self):
        # sudo: a technical setting every billing user's click reads.
        param = self.env["ir.config_parameter"].sudo().get_param(IMMEDIATE_LIMIT_PARAM)
        return int(param) if param else IMMEDIATE_LIMIT

    @api.model
    def _batch_size(self):
        # sudo: as above.
        param = self.env["ir.config_parameter"].sudo().get_param(BATCH_SIZE_PARAM)
        return max(1, int(param)) if param else BATCH_SIZE

    @api.model
    def _job_time_budget(self):
        """Seconds one job may work: a share of the worker's real-time and
        CPU limits, or None when the server sets neither."""
        limits = [
            config["limit_time_real_cron"]
            if (config["limit_time_real_cron"] or 0) > 0
            else config["limit_time_real"],
            config["limit_time_cpu"],
        ]
        limits = [limit for limit in limits if limit and limit > 0]
        return min(limits) * JOB_TIME_SHARE if limits else None

    @api.model
    def _job_deadline(self):
        """When this cron job should stop taking batches (``time.monotonic``),
        or None outside a cron job (shell, tests, queue jobs)."""
        end = self.env.context.get("cron_end_time")
        budget = self._job_time_budget()
        if end is None or budget is None:
            return None
        # Odoo sets cron_end_time to the job's start + MIN_TIME_PER_JOB.
        return end - MIN_TIME_PER_JOB + budget

    @api.model
    def _estimated_seconds(self, dunnings):
        """Wall time to process each reminder, first estimate: the invoices
        whose PDF must be rendered to be attached cost most."""
        stored = dunnings.line_ids.move_id.filtered("invoice_pdf_report_id")
        return {
            dunning: SECONDS_PER_REMINDER
            + (
                SECONDS_PER_INVOICE_PDF * len(dunning.line_ids.move_id - stored)
                if dunning.template_id.attach_invoice and dunning.level_id.action_email
                else 0.0
            )
            for dunning in dunnings
        }

    @api.model
    def _fitting_count(self, dunnings, seconds, scale=1.0):
        """How many of ``dunnings``, in order, fit in ``seconds`` (at least
        one: a job always makes progress)."""
        total = 0.0
        count = 0
        for estimate in self._estimated_seconds(dunnings).values():
            total += estimate * scale
            if count and total > seconds:
                break
            count += 1
        return count

    # === QUEUE === #

    @api.model
    def _queue(self, dunnings, action):
        """Queue reminders for the background engine, for the current user;
        return the run."""
        run = self._create_run(action, len(dunnings))
        dunnings._kpulse_set_run(run)
        if action == "send":
            dunnings._kpulse_prepare_signup()
        self._schedule(run)
        return run.sudo(False)

    @api.model
    def _create_run(self, action, count):
        """A background run of ``count`` reminders for the current user."""
        # sudo: a run is the engine's bookkeeping, read-only for users; the
        # user's right to send or print these reminders was checked by the
        # action that queues them (access check and lock).
        return (
            self.env["kpulse.dunning.run"]
            .sudo()
            .with_context(mail_create_nolog=True)
            .create(
                {
                    "action": action,
                    "user_id": self.env.uid,
                    "company_ids": [fields.Command.set(self.env.companies.ids)],
                    "total_count": count,
                }
            )
        )

    @api.model
    def _schedule(self, run):
        """Wake the engine for a new run (the queue_job glue overrides this)."""
        # sudo: users may not read crons; waking the engine's own crons is
        # what queuing means, and changes nothing else. A run of one batch
        # needs one worker; a bigger one wakes them all.
        crons = self.env["ir.cron"]
        for xmlid in QUEUE_CRONS:
            crons |= self.env.ref(xmlid, raise_if_not_found=False) or crons
        crons = crons.sudo().filtered("active")
        if run.sudo().total_count <= self._batch_size():
            crons = crons[:1]
        for cron in crons:
            cron._trigger()

    @api.model
    def _cron_process_queue(self):
        """Process queued reminders in batches until the queue is empty or
        the cron's time is up.

        Each batch is locked (``try_lock_for_update``: a second worker takes
        other reminders), processed and committed; a worker killed in the
        middle of a batch rolls it back, and its mails with it, so the batch
        is processed again later and nothing is sent twice.
        """
        # sudo: the cron's user sees only his own companies; the engine
        # serves every company's queue. Each batch is then processed as the
        # user who queued it, within his companies (kpulse.dunning.run._process).
        Dunning = self.env["kpulse.dunning"].sudo()
        IrCron = self.env["ir.cron"]
        batch_size = self._batch_size()
        workers = os.cpu_count() or 1
        # Within a cron job, batches are sized to end before the worker's
        # limits (see JOB_TIME_SHARE); what is left goes to the next job,
        # which Odoo runs at once.
        deadline = self._job_deadline()
        scale = None  # the measured pace: actual / estimated time
        while True:
            pending = Dunning.search([("run_id", "!=", False)], order="run_id, id")
            size = batch_size
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    # Odoo reschedules a job left "partially done" without
                    # waking the cron workers, which then sleep up to a
                    # minute: a trigger wakes one as soon as this commits.
                    # sudo: the cron's own scheduling, as Odoo does it.
                    if cron_id := self.env.context.get("cron_id"):
                        IrCron.sudo().browse(cron_id)._trigger()
                    IrCron._commit_progress(remaining=len(pending))
                    return
                if scale is None:
                    size = min(batch_size, FIRST_BATCH_SIZE)
                size = self._fitting_count(pending[:size], left, scale or 1.0)
            try:
                # Odoo logs a failing query as an error before raising it;
                # this conflict is expected and handled below (as Odoo's
                # mail.presence does for its own).
                with mute_logger("odoo.sql_db"):
                    batch = pending.try_lock_for_update(limit=size)
            except psycopg2.errors.SerializationFailure:
                # Another worker committed some of these between our search
                # and our lock: start again from a fresh snapshot.
                self.env.cr.rollback()
                continue
            if not batch:
                break
            estimate = sum(self._estimated_seconds(batch).values())
            started = time.monotonic()
            for run, dunnings in batch.grouped("run_id").items():
                run._process(dunnings, workers=workers)
            # What the next batch will cost, from what this one did.
            scale = max(0.2, (time.monotonic() - started) / estimate)
            remaining = len(pending) - len(batch)
            time_left = IrCron._commit_progress(len(batch), remaining=remaining)
            if deadline is None and time_left <= 0:
                break
        try:
            with mute_logger("odoo.sql_db"):  # an expected conflict, see above
                self.env["kpulse.dunning.run"].sudo()._finish_done_runs()
        except psycopg2.errors.SerializationFailure:
            # Another worker closed these runs meanwhile.
            self.env.cr.rollback()
        IrCron._commit_progress()
