import logging
from datetime import timedelta

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


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
        to_send._kpulse_ensure_access_tokens()
        failures = {}
        by_email = to_send.filtered("level_id.action_email")
        self._check_recipients(to_send, failures)
        for dunning in to_send.filtered(lambda d: not d.template_id):
            failures[dunning] = self.env._("The reminder has no template.")
        ready = to_send.filtered(lambda d: d not in failures)
        contents = self._render_mail_contents(ready & by_email, failures)
        ready = ready.filtered(lambda d: d not in failures)
        letters = self._render_letter_bodies(ready, failures)
        ready = ready.filtered(lambda d: d not in failures)
        pdfs = {}
        statements = {}
        invoice_pdfs = {}
        if ready:
            try:
                pdfs = self.env[
                    "report.kpulse_dunning.report_dunning_letter"
                ]._render_letter_pdfs(ready, letters, workers=workers)
                # The customers' statements, for the e-mails whose template
                # attaches them (report/kpulse_customer_statement.py).
                statements = self.env[
                    "report.kpulse_dunning.report_customer_statement"
                ]._reminder_statement_files(ready.filtered(lambda d: d.id in contents))
                # The invoices' PDFs: a rendering error fails this batch's
                # reminders with its reason, as a letter's does.
                invoice_pdfs = self._invoice_pdfs(
                    ready.filtered("level_id.action_email"), workers=workers
                )
            except UserError as error:
                for dunning in ready:
                    failures[dunning] = str(error)
                ready = ready.browse()
        self._post_reminders(ready, contents, pdfs, statements, invoice_pdfs)
        self._do_level_actions(ready)
        for reason, failed in self._group_by_reason(dunnings, failures).items():
            failed.write({"state": "failed", "failure_reason": reason})
        return {"sent": ready, "failed": failures, "paid": paid, "skipped": skipped}

    @api.model
    def _check_recipients(self, dunnings, failures):
        """Set aside in ``failures`` ({reminder: reason}) the reminders that
        cannot reach their customer by their level's channels: an e-mail
        without address. Channel glue addons (``kpulse_dunning_sms``) add
        their own checks."""
        by_email = dunnings.filtered("level_id.action_email")
        for dunning in by_email.filtered(lambda d: not d.partner_invoice_id.email):
            failures[dunning] = self.env._(
                "%(partner)s has no e-mail address.",
                partner=dunning.partner_invoice_id.display_name,
            )

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
    def _invoice_pdfs(self, dunnings, workers=1):
        """PDF of each invoice to attach: the stored invoice PDF, or rendered
        in batches and stored as Odoo's sending does
        (report/kpulse_invoice_pdf.py)."""
        moves = dunnings.filtered("template_id.attach_invoice").line_ids.move_id
        return self.env["kpulse.dunning.invoice.pdf"]._invoice_pdfs(
            moves, workers=workers
        )

    @api.model
    def _post_reminders(
        self, dunnings, contents, pdfs, statements=None, invoice_pdfs=None
    ):
        """E-mail the reminders whose level asks for it (the others keep
        their letter in their chatter) and mark them all sent.

        :param dict statements: {reminder id: (file name, PDF)} of the
            customer statements to attach to the e-mails.
        :param dict invoice_pdfs: ``_invoice_pdfs()`` of these reminders,
            when the caller has them already.
        """
        if not dunnings:
            return
        if invoice_pdfs is None:
            invoice_pdfs = self._invoice_pdfs(
                dunnings.filtered("level_id.action_email")
            )
        files = {}
        for dunning in dunnings:
            files[dunning.id] = [(dunning._letter_filename(), pdfs[dunning.id])]
            if dunning.id in contents and dunning.template_id.attach_invoice:
                files[dunning.id] += [
                    invoice_pdfs[move] for move in dunning.line_ids.move_id
                ]
            if statements and dunning.id in statements:
                files[dunning.id].append(statements[dunning.id])
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
            # transaction commits: a rolled-back batch sends nothing. Only
            # the customer is e-mailed: the followers (the sender, the
            # responsible) see it in the chatter, not in their mailbox. The
            # customer's portal sign-up, prepared when the reminders were
            # queued, is not written again (res_partner_signup.py).
            dunning.with_context(
                mail_notify_force_send=False, kpulse_dunning_mailing=True
            ).message_post(
                body=body,
                subject=subject,
                partner_ids=dunning.partner_invoice_id.ids,
                notify_skip_followers=True,
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
