from odoo import fields, models


class KpulseDunningRunResult(models.Model):
    """The outcome of one batch of a background run.

    Each batch inserts its own row instead of adding to counters on the run:
    two workers processing batches of the same run then never update the
    same row, so neither has to wait for or roll back the other.
    """

    _name = "kpulse.dunning.run.result"
    _description = "Payment Reminder Background Batch"
    _order = "id"

    run_id = fields.Many2one(
        "kpulse.dunning.run", required=True, index=True, ondelete="cascade"
    )
    sent_count = fields.Integer()
    printed_count = fields.Integer()
    failed_count = fields.Integer()
    paid_count = fields.Integer()
    skipped_count = fields.Integer()
    failure_summary = fields.Text()
