import base64

from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.pdf import merge_pdf


class KpulseDunningRun(models.Model):
    """One Send or Print asked on many reminders, done in the background.

    The reminders point to their run (``kpulse.dunning.run_id``) while they
    wait; the engine clears that link as it processes them and adds up the
    outcome here. When nothing is left, the user who asked is notified with
    the summary, and a print run's letters as one PDF.
    """

    _name = "kpulse.dunning.run"
    _inherit = ["mail.thread"]
    _description = "Payment Reminder Background Run"
    _order = "id desc"

    name = fields.Char(compute="_compute_name")
    action = fields.Selection(
        [("send", "Send by e-mail"), ("print", "Print letters")],
        required=True,
        readonly=True,
    )
    user_id = fields.Many2one(
        "res.users", string="Asked By", required=True, readonly=True, index=True
    )
    company_ids = fields.Many2many("res.company", readonly=True)
    state = fields.Selection(
        [("queued", "Queued"), ("done", "Done")],
        default="queued",
        required=True,
        readonly=True,
        index=True,
    )
    dunning_ids = fields.One2many(
        "kpulse.dunning", "run_id", string="Reminders Waiting"
    )
    result_ids = fields.One2many("kpulse.dunning.run.result", "run_id")
    total_count = fields.Integer(string="Reminders", readonly=True)
    # Added up from the batches' results, without writing to the run while
    # workers process it.
    sent_count = fields.Integer(string="Sent", compute="_compute_counts")
    printed_count = fields.Integer(string="Printed", compute="_compute_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    paid_count = fields.Integer(string="Paid Meanwhile", compute="_compute_counts")
    skipped_count = fields.Integer(string="Skipped", compute="_compute_counts")
    failure_summary = fields.Text(compute="_compute_counts")
    pdf_id = fields.Many2one("ir.attachment", string="Letters", readonly=True)
    date_done = fields.Datetime(readonly=True)

    @api.depends("action", "total_count", "create_date")
    def _compute_name(self):
        for run in self:
            run.name = self.env._(
                "%(action)s: %(count)s reminder(s)",
                action=dict(self._fields["action"]._description_selection(self.env))[
                    run.action
                ]
                if run.action
                else "",
                count=run.total_count,
            )

    @api.depends("result_ids")
    def _compute_counts(self):
        counters = ("sent_count", "printed_count", "failed_count", "paid_count")
        for run in self:
            results = run.result_ids
            for counter in (*counters, "skipped_count"):
                run[counter] = sum(results.mapped(counter))
            run.failure_summary = "\n".join(
                filter(None, results.mapped("failure_summary"))
            )

    # === PROCESSING === #

    def _process(self, dunnings, workers=1):
        """Process a locked batch of this run's reminders, as the user who
        asked, within the companies he worked in."""
        self.ensure_one()
        # The automatic run queues as the superuser: it stays one.
        env = self.env(
            user=self.user_id,
            context=dict(self.env.context, allowed_company_ids=self.company_ids.ids),
            su=self.user_id._is_superuser(),
        )
        batch = dunnings.with_env(env)
        engine = env["kpulse.dunning.send"]
        # sudo for the run's own bookkeeping (results, PDF parts), which
        # users only read; the reminders are processed with the user's rights.
        run = self.sudo()
        if self.action == "send":
            run._add_outcome(engine._send(batch, workers=workers))
        else:
            run._add_letters(batch, workers)
        # Done with these: they leave the queue in the same commit.
        dunnings.with_context(tracking_disable=True).write({"run_id": False})

    def _add_outcome(self, outcome):
        failures = outcome["failed"]
        self.env["kpulse.dunning.run.result"].create(
            {
                "run_id": self.id,
                "sent_count": len(outcome["sent"]),
                "failed_count": len(failures),
                "paid_count": len(outcome["paid"]),
                "skipped_count": len(outcome["skipped"]),
                "failure_summary": "\n".join(
                    f"{dunning.name}: {reason}" for dunning, reason in failures.items()
                ),
            }
        )

    def _add_letters(self, dunnings, workers):
        """Print a batch: its PDF is kept as a part of the run's document."""
        dunnings.line_ids.move_id._kpulse_ensure_access_tokens()
        dunnings._kpulse_ensure_access_tokens()
        merged = dunnings.env[
            "report.kpulse_dunning.report_dunning_letter"
        ]._render_letters_document(dunnings, workers=workers)
        self.env["ir.attachment"].create(
            {
                "name": f"part-{dunnings[:1].id:010d}.pdf",
                "raw": merged,
                "res_model": self._name,
                "res_id": self.id,
                "res_field": "pdf_id",  # hidden: a part, not the result
                "mimetype": "application/pdf",
            }
        )
        self.env["kpulse.dunning.run.result"].create(
            {"run_id": self.id, "printed_count": len(dunnings)}
        )

    # === END OF A RUN === #

    @api.model
    def _finish_done_runs(self):
        """Close the runs with nothing left to process and tell their users.

        A run another worker is closing is locked: it is skipped here.
        """
        # sudo: closing runs is the engine's bookkeeping (the merged PDF, the
        # state), whoever's batch ended them.
        runs = self.sudo().search([("state", "=", "queued")]).try_lock_for_update()
        waiting = set(
            runs.env["kpulse.dunning"]._read_group(
                [("run_id", "in", runs.ids)], ["run_id"]
            )
        )
        done = runs.filtered(lambda run: (run,) not in waiting)
        for run in done:
            run._finish()

    def _finish(self):
        self.ensure_one()
        if self.action == "print":
            self._assemble_pdf()
        self.write({"state": "done", "date_done": fields.Datetime.now()})
        self._notify_user()

    def _assemble_pdf(self):
        parts = (
            self.env["ir.attachment"]
            .sudo()  # the parts are hidden field attachments of this run only
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("res_field", "=", "pdf_id"),
                ],
                order="name",
            )
        )
        if not parts:
            return
        pdf = merge_pdf([part.raw for part in parts])
        self.pdf_id = self.env["ir.attachment"].create(
            {
                "name": self.env._("Letters %(date)s.pdf", date=fields.Date.today()),
                "datas": base64.b64encode(pdf),
                "res_model": self._name,
                "res_id": self.id,
                "mimetype": "application/pdf",
            }
        )
        parts.unlink()

    def _summary(self):
        self.ensure_one()
        if self.action == "print":
            lines = [
                self.env._("%(count)s letter(s) printed.", count=self.printed_count)
            ]
        else:
            lines = [self.env._("%(count)s reminder(s) sent.", count=self.sent_count)]
            if self.failed_count:
                lines.append(
                    self.env._("%(count)s reminder(s) failed:", count=self.failed_count)
                )
                lines += (self.failure_summary or "").splitlines()
            if self.paid_count:
                lines.append(
                    self.env._(
                        "%(count)s reminder(s) not sent: their invoices were paid "
                        "meanwhile.",
                        count=self.paid_count,
                    )
                )
        if self.skipped_count:
            lines.append(
                self.env._(
                    "%(count)s reminder(s) skipped: they were no longer to send.",
                    count=self.skipped_count,
                )
            )
        return lines

    def _notify_user(self):
        """Inbox message (with the letters' PDF) and a toast for the user."""
        self.ensure_one()
        lines = self._summary()
        body = Markup("<br/>").join(lines)
        self.message_notify(
            partner_ids=self.user_id.partner_id.ids,
            subject=self.name,
            body=body,
            attachment_ids=self.pdf_id.ids,
            model_description=self._description,
        )
        self.env["bus.bus"]._sendone(
            self.user_id.partner_id,
            "simple_notification",
            {
                "title": self.name,
                "message": "\n".join(lines),
                "type": "warning" if self.failed_count else "success",
                "sticky": bool(self.failed_count),
            },
        )

    def action_open_pdf(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.pdf_id.id}?download=true",
            "target": "self",
        }
