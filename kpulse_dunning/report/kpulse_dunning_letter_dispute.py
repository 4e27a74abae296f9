from collections import defaultdict

from odoo import api, models


class ReportKpulseDunningLetter(models.AbstractModel):
    """The customer's invoices under dispute, listed apart in each letter
    ("not claimed here"), so that the customer sees the dispute was heard."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "report.kpulse_dunning.report_dunning_letter"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _get_report_values(self, docids, data=None):
        values = super()._get_report_values(docids, data=data)
        values["disputes_by_doc"] = self._disputes_by_letter(values["docs"])
        return values

    @api.model
    def _disputes_by_letter(self, dunnings):
        """``{reminder id: disputes}``: the open disputes of each reminder's
        customer in its company, but those of the invoices it claims (a
        reminder sent before the dispute), in one search for every letter.
        Read only: a render never writes."""
        if not dunnings:
            return {}
        disputes = self.env["kpulse.dunning.dispute"].search(
            [
                ("state", "=", "open"),
                # Paid meanwhile: nothing left to dispute in a letter.
                ("move_id.payment_state", "in", ("not_paid", "partial")),
                ("partner_id", "in", dunnings.partner_id.commercial_partner_id.ids),
                ("company_id", "in", dunnings.company_id.ids),
            ],
            order="date, id",
        )
        by_customer = defaultdict(lambda: disputes.browse())
        for dispute in disputes:
            by_customer[dispute.partner_id, dispute.company_id] |= dispute
        result = {}
        for dunning in dunnings:
            customer = dunning.partner_id.commercial_partner_id, dunning.company_id
            result[dunning.id] = (
                by_customer[customer].filtered(
                    lambda d, claimed=dunning.line_ids.move_id: d.move_id not in claimed
                )
                if customer in by_customer
                else disputes.browse()
            )
        return result
