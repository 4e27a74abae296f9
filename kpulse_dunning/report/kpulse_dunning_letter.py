from odoo import api, models


class ReportKpulseDunningLetter(models.AbstractModel):
    _name = "report.kpulse_dunning.report_dunning_letter"
    _description = "Payment Reminder Letter"

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["kpulse.dunning"].browse(docids)
        letter_bodies = (data or {}).get("letter_bodies")
        if not isinstance(letter_bodies, dict) or set(letter_bodies) != set(docs.ids):
            letter_bodies = docs._render_letter_bodies()
        return {
            "doc_ids": docids,
            "doc_model": "kpulse.dunning",
            "docs": docs,
            "letter_bodies": letter_bodies,
        }
