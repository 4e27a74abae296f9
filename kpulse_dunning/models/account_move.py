from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

from .kpulse_dunning_batch import ensure_access_tokens


class AccountMove(models.Model):
    _inherit = "account.move"

    kpulse_dunning_line_ids = fields.One2many(
        "kpulse.dunning.line", "move_id", string="Reminder Lines", copy=False
    )
    kpulse_dunning_count = fields.Integer(
        string="Reminders", compute="_compute_kpulse_dunning_count"
    )
    kpulse_dunning_level_id = fields.Many2one(
        "kpulse.dunning.level",
        string="Reminder Level",
        compute="_compute_kpulse_dunning_level",
        store=True,
        index="btree_not_null",
        help="Highest reminder level sent for this invoice.",
    )
    kpulse_dunning_level_color = fields.Integer(
        string="Reminder Level Colour", related="kpulse_dunning_level_id.color"
    )
    kpulse_last_dunning_date = fields.Date(
        string="Last Reminder",
        compute="_compute_kpulse_dunning_level",
        store=True,
    )
    kpulse_dunning_blocked = fields.Boolean(
        string="Reminders Blocked", copy=False, tracking=True
    )
    kpulse_dunning_block_reason = fields.Char(
        string="Block Reason", copy=False, tracking=True
    )

    def _auto_init(self):
        # Create the stored columns empty: no reminder exists at install, so
        # computing them for every existing move would only cost time.
        if not column_exists(self.env.cr, "account_move", "kpulse_dunning_level_id"):
            create_column(
                self.env.cr, "account_move", "kpulse_dunning_level_id", "int4"
            )
            create_column(
                self.env.cr, "account_move", "kpulse_last_dunning_date", "date"
            )
        return super()._auto_init()

    # === COMPUTE METHODS === #

    def _compute_kpulse_dunning_count(self):
        counts = dict(
            self.env["kpulse.dunning.line"]._read_group(
                [("move_id", "in", self.ids), ("dunning_id.state", "!=", "cancel")],
                ["move_id"],
                ["__count"],
            )
        )
        for move in self:
            move.kpulse_dunning_count = counts.get(move, 0)

    @api.depends(
        "kpulse_dunning_line_ids.dunning_id.claim_type",
        "kpulse_dunning_line_ids.dunning_id.sent_date",
        "kpulse_dunning_line_ids.dunning_id.state",
        "kpulse_dunning_line_ids.dunning_id.level_id",
    )
    def _compute_kpulse_dunning_level(self):
        # One query for the whole batch: thousands of moves are recomputed
        # whenever reminders are created or escalated.
        self.env["kpulse.dunning.line"].flush_model(["move_id", "dunning_id"])
        self.env["kpulse.dunning"].flush_model(
            ["sent_date", "state", "level_id", "claim_type"]
        )
        self.env["kpulse.dunning.level"].flush_model(["sequence"])
        # Raw SQL, safe: the columns read are flushed above, ids are bound
        # parameters, and the result is only assigned to these moves' fields
        # (a stored compute, run as superuser like every stored compute).
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT ON (line.move_id)
                       line.move_id, dunning.level_id,
                       MAX(dunning.sent_date) OVER (PARTITION BY line.move_id)
                  FROM kpulse_dunning_line line
                  JOIN kpulse_dunning dunning ON dunning.id = line.dunning_id
                  JOIN kpulse_dunning_level level ON level.id = dunning.level_id
                 WHERE line.move_id IN %s
                   AND dunning.claim_type = 'reminder'
                   AND dunning.sent_date IS NOT NULL
                   AND dunning.state != 'cancel'
              ORDER BY line.move_id, level.sequence DESC, level.id DESC
                """,
                tuple(id_ for id_ in self.ids if isinstance(id_, int)) or (None,),
            )
        )
        sent = {move_id: (level_id, last_date) for move_id, level_id, last_date in rows}
        Level = self.env["kpulse.dunning.level"]
        for move in self:
            level_id, last_date = sent.get(move.id, (False, False))
            move.kpulse_dunning_level_id = Level.browse(level_id)
            move.kpulse_last_dunning_date = last_date and last_date.date()

    # === BUSINESS METHODS === #

    def _kpulse_ensure_access_tokens(self):
        """Give every invoice its portal access token, all in one query."""
        ensure_access_tokens(self)

    def _kpulse_close_paid_dunnings(self):
        """Reminders not yet sent whose invoices are all settled become paid."""
        dunnings = self.kpulse_dunning_line_ids.dunning_id.filtered(
            lambda d: d.state in ("draft", "failed")
        )
        paid, _settled_ids = dunnings._split_settled()
        paid.write({"state": "paid"})

    def _kpulse_fetch_for_reminders(self):
        """Read what creating reminders reads of these invoices, in one
        query per 1,000: the first read of any field would fetch all of an
        invoice's fields, which costs more than the reminders' maths."""
        self.fetch(
            [
                "move_type",
                "state",
                "payment_state",
                "company_id",
                "currency_id",
                "commercial_partner_id",
                "amount_residual",
                "invoice_date_due",
                "invoice_user_id",
            ]
        )

    # === ACTIONS === #

    def action_kpulse_open_dunnings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_action"
        )
        action["domain"] = [("move_ids", "in", self.ids)]
        action["context"] = {"create": False}
        return action

    def action_kpulse_create_dunnings(self):
        """Open the reminder wizard on the selected invoices."""
        self._kpulse_check_can_be_dunned()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Create Reminders"),
            "res_model": "kpulse.dunning.create",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_ids": self.ids},
        }
