from odoo import api, models


class AccountPartialReconcile(models.Model):
    _inherit = "account.partial.reconcile"

    @api.model_create_multi
    def create(self, vals_list):
        partials = super().create(vals_list)
        # Reconciliation is what pays an invoice: end its pending reminders here.
        moves = partials.debit_move_id.move_id | partials.credit_move_id.move_id
        moves.filtered("kpulse_dunning_line_ids")._kpulse_close_paid_dunnings()
        # ... and keep the promises to pay it fulfils.
        moves._kpulse_keep_promises()
        return partials
