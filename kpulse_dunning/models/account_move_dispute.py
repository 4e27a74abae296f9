from collections import Counter

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import column_exists, create_column


class AccountMove(models.Model):
    """Invoices the customer disputes: the open dispute of each invoice,
    which keeps it out of the eligibility domain (reminders and automatic
    runs) until it is resolved, and the Dispute / Resolve actions."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    kpulse_dispute_ids = fields.One2many(
        "kpulse.dunning.dispute", "move_id", string="Disputes", copy=False
    )
    # Stored, so that the eligibility domain excludes disputed invoices in
    # its one query. It follows the disputes' state: recorded or resolved,
    # the dispute changes it, nothing else writes it.
    kpulse_dispute_id = fields.Many2one(
        "kpulse.dunning.dispute",
        string="Open Dispute",
        compute="_compute_kpulse_dispute_id",
        store=True,
        index="btree_not_null",
        copy=False,
        help="The customer disputes this invoice: it is not reminded until "
        "the dispute is resolved.",
    )
    kpulse_dispute_reason_id = fields.Many2one(
        related="kpulse_dispute_id.reason_id", string="Dispute Reason"
    )
    kpulse_dispute_count = fields.Integer(
        string="Dispute Count", compute="_compute_kpulse_dispute_count"
    )

    def _auto_init(self):
        # Create the column empty: no dispute exists at install, so computing
        # it for every existing move would only cost time.
        if not column_exists(self.env.cr, "account_move", "kpulse_dispute_id"):
            create_column(self.env.cr, "account_move", "kpulse_dispute_id", "int4")
        return super()._auto_init()

    # === COMPUTE METHODS === #

    @api.depends("kpulse_dispute_ids.state")
    def _compute_kpulse_dispute_id(self):
        for move in self:
            move.kpulse_dispute_id = move.kpulse_dispute_ids.filtered(
                lambda dispute: dispute.state == "open"
            )[:1]

    def _compute_kpulse_dispute_count(self):
        counts = dict(
            self.env["kpulse.dunning.dispute"]._read_group(
                [("move_id", "in", self.ids)], ["move_id"], ["__count"]
            )
        )
        for move in self:
            move.kpulse_dispute_count = counts.get(move, 0)

    # === BUSINESS METHODS === #

    def _kpulse_fetch_for_reminders(self):
        result = super()._kpulse_fetch_for_reminders()
        # One column more for a batch: which invoices are disputed (escalated
        # reminders leave them out).
        self.fetch(["kpulse_dispute_id"])
        return result

    def _kpulse_dispute_refusal(self):
        """Why this invoice cannot be disputed, or False."""
        self.ensure_one()
        if self.move_type != "out_invoice":
            return self.env._("not a customer invoice")
        if self.state != "posted":
            return self.env._("not posted")
        if self._kpulse_is_settled():
            return self.env._("already paid")
        if self.kpulse_dispute_id:
            return self.env._(
                "already under dispute (%(reason)s)",
                reason=self.kpulse_dispute_id.reason_id.name,
            )
        return False

    def _kpulse_check_can_dispute(self):
        """Raise a clear message when one of these invoices cannot be
        disputed (a second click included)."""
        if not self:
            raise UserError(self.env._("Select at least one invoice to dispute."))
        refused = [
            (move, reason)
            for move in self
            if (reason := move._kpulse_dispute_refusal())
        ]
        if refused:
            raise UserError(
                self.env._(
                    "These invoices cannot be disputed:\n%(invoices)s",
                    invoices="\n".join(
                        f"- {move.display_name}: {reason}" for move, reason in refused
                    ),
                )
            )

    @api.model
    def _kpulse_check_dispute_values(self, move_ids):
        """The checks of :meth:`_kpulse_check_can_dispute` on the invoices of
        new disputes, each invoice given once."""
        twice = [move_id for move_id, count in Counter(move_ids).items() if count > 1]
        if twice:
            raise UserError(
                self.env._(
                    "An invoice can only have one open dispute: %(invoices)s",
                    invoices=", ".join(self.browse(twice).mapped("display_name")),
                )
            )
        self.browse(move_ids)._kpulse_check_can_dispute()

    # === ACTIONS === #

    def action_kpulse_dispute(self):
        """Record the customer's dispute of these invoices: a reason and a
        note, in a dialog."""
        self.env["kpulse.dunning.dispute"].check_access("create")
        self._kpulse_check_can_dispute()
        return self.env["kpulse.dunning.dispute.wizard"]._open_dialog(
            self.env._("Dispute"), {"default_move_ids": self.ids}
        )

    def action_kpulse_resolve_dispute(self):
        """End the open disputes of these invoices: the chase resumes."""
        self.env["kpulse.dunning.dispute"].check_access("write")
        disputes = self.kpulse_dispute_id
        if not disputes:
            raise UserError(self.env._("These invoices are not under dispute."))
        return self.env["kpulse.dunning.dispute.wizard"]._open_dialog(
            self.env._("Resolve Dispute"),
            {"default_mode": "resolve", "default_dispute_ids": disputes.ids},
        )

    def action_kpulse_open_disputes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_dispute_action"
        )
        action["domain"] = [("move_id", "in", self.ids)]
        action["context"] = {"create": False}
        return action
