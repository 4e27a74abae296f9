from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Command

from ..models.kpulse_dunning import SENDABLE_STATES


class KpulseDunningTemplatePreview(models.TransientModel):
    _name = "kpulse.dunning.template.preview"
    _description = "Reminder Template Preview"

    @api.model
    def _selection_languages(self):
        return self.env["res.lang"].get_installed()

    template_id = fields.Many2one(
        "kpulse.dunning.template", required=True, ondelete="cascade"
    )
    level_id = fields.Many2one(related="template_id.level_id")
    dunning_id = fields.Many2one(
        "kpulse.dunning",
        string="Reminder",
        # The letter's title and penalties follow the reminder's level.
        domain="[('level_id', '=', level_id)]",
        help="Render the template as it would go out for this reminder.",
    )
    move_id = fields.Many2one(
        "account.move",
        string="Overdue Invoice",
        domain=[("kpulse_can_be_dunned", "=", True)],
        help="Without a reminder, render it for this overdue invoice.",
    )
    lang = fields.Selection(_selection_languages, string="Language")
    subject = fields.Char(compute="_compute_preview")
    # Not sanitized again: computed, never stored or written by the client,
    # from template sources sanitized at save and rendered with escaping.
    body_html = fields.Html(string="E-mail", compute="_compute_preview", sanitize=False)
    letter_html = fields.Html(
        string="Letter Content", compute="_compute_preview", sanitize=False
    )
    error_msg = fields.Text(string="Error", compute="_compute_preview")

    @api.depends("template_id", "dunning_id", "move_id", "lang")
    def _compute_preview(self):
        for preview in self:
            preview.subject = preview.body_html = preview.letter_html = False
            preview.error_msg = False
            record = preview._preview_record()
            if not record:
                continue
            template = preview.template_id
            lang = preview.lang or record.partner_invoice_id.lang or self.env.lang
            try:
                # _ids, not ids: an in-memory reminder has no database id.
                rendered = {
                    fname: template._render_field(
                        fname, list(record._ids), set_lang=lang
                    )[record.id]
                    for fname in ("subject", "body_html", "letter_html")
                }
            except UserError as error:
                engine = self.env["kpulse.dunning.send"]
                engine._raise_database_error(error)
                preview.error_msg = engine._render_error_reason(error)
                continue
            preview.subject = rendered["subject"]
            preview.body_html = rendered["body_html"]
            # The whole letter, as printed: letterhead, address, invoices.
            preview.letter_html = (
                self.env["ir.qweb"]
                .with_context(lang=lang)
                ._render(
                    "kpulse_dunning.report_dunning_letter_document",
                    {
                        "doc": record.with_context(lang=lang),
                        "doc_first": True,
                        "letter_bodies": {record.id: rendered["letter_html"]},
                    },
                )
            )

    def _preview_record(self):
        """The reminder to render: the chosen one, or a draft one built in
        memory for the chosen invoice (nothing is saved)."""
        self.ensure_one()
        if self.dunning_id:
            return self._preview_dunning_today(self.dunning_id)
        if self.move_id:
            Dunning = self.env["kpulse.dunning"]
            return Dunning.new(
                dict(
                    Dunning._prepare_vals(self.move_id, self.template_id),
                    name=Dunning._next_name_preview(self.move_id.company_id),
                )
            )
        return self.env["kpulse.dunning"]

    @api.model
    def _preview_dunning_today(self, dunning):
        """A reminder still to send, as it would be sent today: its penalties
        and totals recomputed in memory (nothing is saved)."""
        if dunning.state not in SENDABLE_STATES or not dunning.line_ids:
            return dunning
        today = fields.Date.context_today(self)
        lines = self.env["kpulse.dunning.line"]._prepare_lines(
            dunning.line_ids.move_id, today
        )
        return dunning.new(
            {"line_ids": [Command.clear(), *lines], "penalty_date": today},
            origin=dunning,
        )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        template = self.env["kpulse.dunning.template"].browse(values.get("template_id"))
        if template and not values.get("dunning_id") and not values.get("move_id"):
            values["dunning_id"] = (
                self.env["kpulse.dunning"]
                .search([("template_id", "=", template.id)], limit=1)
                .id
            )
            if not values["dunning_id"]:
                move = self.env["account.move"].search(
                    [("kpulse_can_be_dunned", "=", True)], limit=1
                )
                values["move_id"] = move.id
        return values
