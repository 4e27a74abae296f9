import logging
import os
import time
from datetime import timedelta

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import config, mute_logger

from odoo.addons.base.models.ir_cron import MIN_TIME_PER_JOB

_logger = logging.getLogger(__name__)

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
# invoice PDF to render (one wkhtmltopdf call, which waits report.print_delay).
SECONDS_PER_REMINDER = 0.15
SECONDS_PER_INVOICE_PDF = 1.3
# A job's first batch is small: a loaded server can be several times slower
# than the estimates, and the job only knows its own pace after one batch.
FIRST_BATCH_SIZE = 10
# Every scheduled action serving the queue (see data/ir_cron_data.xml).
QUEUE_CRONS = (QUEUE_CRON, "kpulse_dunning.ir_cron_kpulse_dunning_queue_2")


class KpulseDunningSend(models.AbstractModel):
    """The send and print engine, as ``account.move.send`` is for invoices.

    The reminder decides what to send (its state, its template); the engine
    takes a batch, renders the e-mails and letters, attaches the PDFs, posts
    the messages and sets the states. Big batches go through a queue of
    runs (``kpulse.dunning.run``) processed by a cron, or by queue jobs when
    ``kpulse_dunning_queue_job`` is installed.
    """

    _name = "kpulse.dunning.send"
    _description = "Payment Reminder Sending"

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

    # === SENDING === #

    @api.model
    def _send(self, dunnings, workers=1):
        """Send each reminder by e-mail with its letter; never let one block
        the rest. The caller has locked the reminders.

        :return: the outcome: ``{"sent": reminders, "failed": {reminder:
            reason}, "paid": reminders, "skipped": reminders}``
        """
        to_send = dunnings.filtered(lambda d: d.state in ("draft", "failed"))
        # Paid since they were queued (the payment closed them): say so.
        paid_before = dunnings.filtered(lambda d: d.state == "paid")
        skipped = dunnings - to_send - paid_before
        paid = paid_before | to_send._drop_settled_lines()
        to_send -= paid
        # The letter claims what is due on the sending day, not at creation.
        to_send._refresh_claim()
        to_send.line_ids.move_id._kpulse_ensure_access_tokens()
        failures = {}
        by_email = to_send.filtered("level_id.action_email")
        for dunning in by_email.filtered(lambda d: not d.partner_invoice_id.email):
            failures[dunning] = self.env._(
                "%(partner)s has no e-mail address.",
                partner=dunning.partner_invoice_id.display_name,
            )
        for dunning in to_send.filtered(lambda d: not d.template_id):
            failures[dunning] = self.env._("The reminder has no template.")
        ready = to_send.filtered(lambda d: d not in failures)
        contents = self._render_mail_contents(ready & by_email, failures)
        ready = ready.filtered(lambda d: d not in failures)
        letters = self._render_letter_bodies(ready, failures)
        ready = ready.filtered(lambda d: d not in failures)
        pdfs = {}
        if ready:
            try:
                pdfs = self.env[
                    "report.kpulse_dunning.report_dunning_letter"
                ]._render_letter_pdfs(ready, letters, workers=workers)
            except UserError as error:
                for dunning in ready:
                    failures[dunning] = str(error)
                ready = ready.browse()
        self._post_reminders(ready, contents, pdfs)
        self._do_level_actions(ready)
        for reason, failed in self._group_by_reason(dunnings, failures).items():
            failed.write({"state": "failed", "failure_reason": reason})
        return {"sent": ready, "failed": failures, "paid": paid, "skipped": skipped}

    @api.model
    def _do_level_actions(self, dunnings):
        """What the levels ask besides the e-mail: letters by post go into a
        print batch of each reminder's responsible, activities are scheduled
        for him."""
        by_post = dunnings.filtered("level_id.action_letter")
        for user, letters in by_post.grouped("user_id").items():
            self.with_user(user or self.env.user)._queue(letters, "print")
        today = fields.Date.context_today(self)
        for dunning in dunnings.filtered("level_id.action_activity"):
            level = dunning.level_id
            dunning.activity_schedule(
                activity_type_id=level.activity_type_id.id,
                summary=level.activity_summary or level.name,
                date_deadline=today + timedelta(days=level.activity_delay_days),
                user_id=(dunning.user_id or self.env.user).id,
            )

    # === RENDERING === #

    @api.model
    def _render_mail_contents(self, dunnings, failures):
        """Subject and body of every reminder, in the customer's language."""

        def render(template, batch):
            subjects = template._render_field("subject", batch.ids, compute_lang=True)
            bodies = template._render_field("body_html", batch.ids, compute_lang=True)
            return {
                dunning.id: (subjects[dunning.id], bodies[dunning.id])
                for dunning in batch
            }

        return self._render_by_template(dunnings, render, failures)

    @api.model
    def _render_letter_bodies(self, dunnings, failures=None):
        """Letter content of every reminder, rendered from its template."""

        def render(template, batch):
            if not template:
                return dict.fromkeys(batch.ids, Markup())
            return template._render_field("letter_html", batch.ids, compute_lang=True)

        return self._render_by_template(dunnings, render, failures)

    @api.model
    def _render_by_template(self, dunnings, render, failures=None):
        """Call ``render(template, reminders)`` once per template.

        When a batch fails, its reminders are rendered one by one so that only
        the faulty ones are set aside in ``failures``; without ``failures``,
        the error is raised.
        """
        results = {}
        for template, batch in dunnings.grouped("template_id").items():
            try:
                results.update(render(template, batch))
            except UserError as error:
                self._raise_database_error(error)
                if failures is None:
                    raise
                for dunning in batch:
                    try:
                        results.update(render(template, dunning))
                    except UserError as error:
                        self._raise_database_error(error)
                        failures[dunning] = self._render_error_reason(error)
        return results

    @api.model
    def _raise_database_error(self, error):
        """Re-raise the database error behind a render error.

        The renderers wrap every exception in a UserError. A serialization
        failure or a deadlock leaves the transaction unusable: it must reach
        Odoo, which retries the whole request (or the cron its job), instead
        of being recorded as a template problem.
        """
        cause = error.__cause__ or error.__context__
        while cause is not None:
            if isinstance(cause, psycopg2.Error):
                raise cause
            cause = cause.__cause__ or cause.__context__

    @api.model
    def _render_error_reason(self, error):
        return self.env._(
            "The template could not be rendered: %(problem)s.",
            problem=self.env["kpulse.dunning.template"]._render_error_summary(error),
        )

    # === POSTING === #

    @api.model
    def _invoice_pdfs(self, dunnings):
        """PDF of each invoice to attach, reusing the stored invoice PDF."""
        moves = dunnings.filtered("template_id.attach_invoice").line_ids.move_id
        pdfs = {}
        to_render = self.env["account.move"]
        for move in moves:
            if move.invoice_pdf_report_id:
                pdfs[move] = (
                    move.invoice_pdf_report_id.name,
                    move.invoice_pdf_report_id.raw,
                )
            else:
                to_render |= move
        Report = self.env["ir.actions.report"]
        for move in to_render:
            content = Report._render_qweb_pdf("account.account_invoices", move.ids)[0]
            pdfs[move] = (move._get_invoice_report_filename(), content)
        return pdfs

    @api.model
    def _post_reminders(self, dunnings, contents, pdfs):
        """E-mail the reminders whose level asks for it (the others keep
        their letter in their chatter) and mark them all sent."""
        if not dunnings:
            return
        invoice_pdfs = self._invoice_pdfs(dunnings.filtered("level_id.action_email"))
        files = {}
        for dunning in dunnings:
            files[dunning.id] = [(dunning._letter_filename(), pdfs[dunning.id])]
            if dunning.id in contents and dunning.template_id.attach_invoice:
                files[dunning.id] += [
                    invoice_pdfs[move] for move in dunning.line_ids.move_id
                ]
        attachment_ids = self._create_message_attachments(files)
        thread_values = self._message_thread_values(dunnings)
        for dunning in dunnings:
            if dunning.id not in contents:
                dunning.message_post(
                    body=self.env._(
                        "Reminder sent without e-mail: %(actions)s.",
                        actions=dunning.level_id._action_labels(),
                    ),
                    attachment_ids=attachment_ids[dunning.id],
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                continue
            subject, body = contents[dunning.id]
            # The mail is queued (mail.mail), sent by the mail queue after the
            # transaction commits: a rolled-back batch sends nothing.
            dunning.with_context(mail_notify_force_send=False).message_post(
                body=body,
                subject=subject,
                partner_ids=dunning.partner_invoice_id.ids,
                attachment_ids=attachment_ids[dunning.id],
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                email_layout_xmlid="mail.mail_notification_light",
                **thread_values[dunning.id],
            )
        dunnings.write(
            {
                "state": "sent",
                "sent_date": fields.Datetime.now(),
                "failure_reason": False,
            }
        )
        self._log_on_invoices(dunnings)
        self._wake_mail_queue()

    @api.model
    def _create_message_attachments(self, files):
        """The attachments of each reminder's message, created in one batch:
        ``files`` is {reminder id: [(file name, content)]}; return {reminder
        id: [attachment ids]}, in the same order.

        The values are those ``message_post`` gives the attachments it
        creates from ``attachments`` (one create per message: 5.6 ms each in
        a batch of 200, against about 0.5 ms here). sudo, as message_post
        creates them: the user's right to send these reminders was checked
        when they were sent or queued (_check_can_send), and they are locked.
        """
        vals_list = [
            {
                "name": name,
                "raw": content,
                "type": "binary",
                "description": name,
                "res_model": "kpulse.dunning",
                "res_id": dunning_id,
            }
            for dunning_id, pairs in files.items()
            for name, content in pairs
        ]
        ids = iter(self.env["ir.attachment"].sudo().create(vals_list).ids)
        return {
            dunning_id: [next(ids) for _pair in pairs]
            for dunning_id, pairs in files.items()
        }

    @api.model
    def _wake_mail_queue(self):
        """Have the mail queue deliver these e-mails soon, not at its next
        hourly run. The trigger is committed with the batch, so a batch
        rolled back wakes nothing and sends nothing."""
        # sudo: users may not read crons; waking Odoo's mail queue only
        # makes it run earlier, with its own rules.
        cron = self.env.ref(
            "mail.ir_cron_mail_scheduler_action", raise_if_not_found=False
        )
        if cron and cron.sudo().active:
            cron.sudo()._trigger()

    @api.model
    def _message_thread_values(self, dunnings):
        """What ``message_post`` would look up for each reminder on its own
        (author, reply-to address, alias domain, company), computed with
        Odoo's own batch methods for the whole batch: the values are the
        same, the queries are made once instead of once per reminder."""
        author_id, email_from = dunnings._message_compute_author()
        reply_to = dunnings._notify_get_reply_to(
            default=email_from, author_id=author_id
        )
        # sudo: as message_post reads them (alias domains are configuration).
        alias_domains = dunnings.sudo()._mail_get_alias_domains(
            default_company=self.env.company
        )
        companies = dunnings._mail_get_companies(default=self.env.company)
        return {
            dunning.id: {
                "author_id": author_id,
                "email_from": email_from,
                "reply_to": reply_to[dunning.id],
                "record_alias_domain_id": alias_domains[dunning.id].id,
                "record_company_id": companies[dunning.id].id,
            }
            for dunning in dunnings
        }

    @api.model
    def _log_on_invoices(self, dunnings):
        bodies = {}
        for line in dunnings.line_ids:
            dunning = line.dunning_id
            # Markup's % escapes every value: names cannot inject HTML.
            bodies[line.move_id.id] = Markup(
                "%s <a href='#' data-oe-model='kpulse.dunning' data-oe-id='%s'>%s</a>"
                " (%s)"
            ) % (
                self.env._("Payment reminder sent:"),
                dunning.id,
                dunning.name,
                dunning.level_id.name,
            )
        self.env["account.move"].browse(bodies)._message_log_batch(bodies=bodies)

    @api.model
    def _group_by_reason(self, dunnings, failures):
        grouped = {}
        for dunning, reason in failures.items():
            grouped[reason] = grouped.get(reason, dunnings.browse()) | dunning
        return grouped

    # === QUEUE === #

    @api.model
    def _queue(self, dunnings, action):
        """Queue reminders for the background engine, for the current user;
        return the run."""
        run = self._create_run(action, len(dunnings))
        dunnings._kpulse_set_run(run)
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

    # === AUTOMATIC RUN === #

    @api.model
    def _cron_automatic_run(self):
        """Create the reminders that automatic levels call for, and queue
        them for sending: one run per company, with its grouping."""
        # sudo: a system job for every company (the cron's user belongs to
        # some only); each company is processed on its own, with its own
        # settings, levels and templates, and its reminders are sent as
        # queued by the system.
        for company in self.env["res.company"].sudo().search([("active", "=", True)]):
            engine = (
                self.sudo()
                .with_company(company)
                .with_context(allowed_company_ids=company.ids)
            )
            Move = engine.env["account.move"]
            moves = Move.search(Move._kpulse_auto_domain())
            candidates = moves._kpulse_auto_candidates()
            # The reminders are created in their run: linking 10,000 new
            # reminders afterwards would rewrite every one of them.
            run = engine._create_run("send", len(candidates)) if candidates else None
            dunnings = engine._create_automatic_reminders(candidates, run=run)
            _logger.info(
                "Automatic reminders of %s: %s invoice(s) looked at, %s taken, "
                "%s reminder(s) created and queued.",
                company.name,
                len(moves),
                len(candidates),
                len(dunnings),
            )
            if dunnings:
                run.total_count = len(dunnings)
                engine._schedule(run)
            elif run:
                run.unlink()
            self.env["ir.cron"]._commit_progress(len(dunnings))

    @api.model
    def _create_automatic_reminders(self, moves, run=None):
        """One batch of reminders for ``moves``, at each one's proposed level,
        grouped as the company asks; queued in ``run`` if given."""
        company = self.env.company
        Dunning = self.env["kpulse.dunning"]
        vals_list = []
        moves._kpulse_fetch_for_reminders()
        today = fields.Date.context_today(self)
        penalties = moves._kpulse_penalty_values(today)
        moves.commercial_partner_id.child_ids.mapped("email")  # one query
        for level, level_moves in moves.grouped("kpulse_proposed_level_id").items():
            template = level._get_default_template(company)
            if not template:
                _logger.warning(
                    "Automatic reminders: level %s has no template for %s.",
                    level.name,
                    company.name,
                )
                continue
            if company.kpulse_dunning_grouping == "partner":
                groups = level_moves.grouped(
                    lambda m: (m.commercial_partner_id, m.currency_id)
                ).values()
            else:
                groups = list(level_moves)
            vals_list += [
                dict(
                    Dunning._prepare_vals(
                        group,
                        template,
                        penalties=penalties,
                        user=group.invoice_user_id[:1] or self.env.user,
                        date=today,
                    ),
                    run_id=run.id if run else False,
                )
                for group in groups
            ]
        return Dunning._create_batch(vals_list)
