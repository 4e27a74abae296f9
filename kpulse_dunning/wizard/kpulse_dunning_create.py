from odoo import api, fields, models
from odoo.exceptions import LockError, UserError

# Reminders not sent yet: a second one at the same level would be a duplicate.
OPEN_STATES = ("draft", "failed")


class KpulseDunningCreate(models.TransientModel):
    _name = "kpulse.dunning.create"
    _description = "Create Payment Reminders"

    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain=[("kpulse_can_be_dunned", "=", True)],
    )
    move_count = fields.Integer(compute="_compute_move_count")
    template_id = fields.Many2one(
        "kpulse.dunning.template",
        string="Reminder Template",
        compute="_compute_template_id",
        store=True,
        readonly=False,
        required=True,
        domain=[("claim_type", "=", "reminder")],
        help="The same template is used for every reminder created.",
    )
    level_id = fields.Many2one(related="template_id.level_id")
    level_color = fields.Integer(related="template_id.level_id.color")
    grouping = fields.Selection(
        [
            ("invoice", "One reminder per invoice"),
            ("partner", "One reminder per customer"),
        ],
        default=lambda self: self.env.company.kpulse_dunning_grouping,
        required=True,
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "move_ids" in fields_list
            and not values.get("move_ids")
            and context.get("active_model") == "account.move"
            and context.get("active_ids")
        ):
            moves = self.env["account.move"].browse(context["active_ids"])
            moves._kpulse_check_can_be_dunned()
            values["move_ids"] = [fields.Command.set(moves.ids)]
        return values

    @api.depends("move_ids")
    def _compute_move_count(self):
        for wizard in self:
            wizard.move_count = len(wizard.move_ids)

    @api.depends("move_ids")
    def _compute_template_id(self):
        for wizard in self:
            # One vote per invoice, not per distinct level. The saved
            # invoices (_origin): in the form, the wizard is a new record and
            # its invoices new records too, whose stored fields the ORM would
            # compute again, 10,000 at a time.
            moves = wizard.move_ids._origin
            proposed = moves._kpulse_proposed_level_counts()
            if not proposed:
                continue
            # A tie goes to the gentler level, whatever the invoices' order.
            level = max(
                proposed,
                key=lambda lvl: (proposed[lvl], -lvl.sequence, -lvl.id),
            )
            # Only the company is read: reading a field of 10,000 invoices
            # would fetch all of their fields.
            moves[:1].fetch(["company_id"])
            company = moves[:1].company_id or self.env.company
            wizard.template_id = level._get_default_template(company)

    def action_create(self):
        self.ensure_one()
        dunnings, duplicates = self._create_dunnings()
        action = self.env["kpulse.dunning"]._open_dunnings(dunnings)
        if not duplicates:
            return action
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Payment reminders"),
                "message": self.env._(
                    "%(count)s reminder(s) created. These invoices already have a "
                    "reminder to send at level “%(level)s” and were left out: "
                    "%(invoices)s",
                    count=len(dunnings),
                    level=self.template_id.level_id.name,
                    invoices=", ".join(duplicates.mapped("name")),
                ),
                "type": "warning",
                "sticky": True,
                "next": action,
            },
        }

    def _create_dunnings(self):
        """Create the reminders; return them and the invoices left out as
        they already have a reminder to send at this level."""
        if not self.move_ids:
            raise UserError(self.env._("Select at least one invoice to remind."))
        self.move_ids._kpulse_check_can_be_dunned()
        template = self.template_id
        if template.claim_type != "reminder":
            raise UserError(
                self.env._(
                    "The template “%(template)s” is for late-payment claims: "
                    "choose a reminder template.",
                    template=template.name,
                )
            )
        other_company = self.move_ids.company_id - template.company_id
        if template.company_id and other_company:
            raise UserError(
                self.env._(
                    "The template “%(template)s” belongs to another company than "
                    "some invoices (%(companies)s).",
                    template=template.name,
                    companies=", ".join(other_company.mapped("name")),
                )
            )
        # Two users creating reminders for the same invoices: the second one
        # waits for no one, it is told to try again (or, when the first one
        # has committed meanwhile, Odoo retries it and it finds the reminders).
        try:
            self.move_ids.lock_for_update(allow_referencing=True)
        except LockError:
            raise UserError(
                self.env._(
                    "Another user is working on some of these invoices right "
                    "now. Try again in a moment."
                )
            ) from None
        duplicates = self._invoices_with_open_reminder()
        if duplicates == self.move_ids:
            raise UserError(self._duplicates_message(duplicates))
        Dunning = self.env["kpulse.dunning"]
        self.move_ids._kpulse_fetch_for_reminders()
        self.move_ids.commercial_partner_id.child_ids.mapped("email")  # one query
        moves_to_remind = self.move_ids - duplicates
        today = fields.Date.context_today(self)
        penalties = moves_to_remind._kpulse_penalty_values(today)
        users = self._followup_users(moves_to_remind)
        vals_list = [
            Dunning._prepare_vals(
                moves,
                template,
                penalties=penalties,
                user=users[moves.company_id.id][moves.commercial_partner_id.id]
                or self.env.user,
                date=today,
            )
            for moves in self._group_moves(moves_to_remind)
        ]
        return self.env["kpulse.dunning"]._create_batch(vals_list), duplicates

    @api.model
    def _followup_users(self, moves):
        """{company id: {customer id: follow-up responsible}} of ``moves``,
        looked up once per company for the whole selection."""
        Partner = self.env["res.partner"]
        return {
            company.id: Partner._kpulse_followup_users(
                company_moves.commercial_partner_id, company
            )
            for company, company_moves in moves.grouped("company_id").items()
        }

    def _invoices_with_open_reminder(self):
        """The selected invoices that already have a reminder at the
        template's level that is not sent yet (to send or failed)."""
        return (
            self.env["kpulse.dunning.line"]
            .search(
                [
                    ("move_id", "in", self.move_ids.ids),
                    ("dunning_id.state", "in", OPEN_STATES),
                    ("dunning_id.claim_type", "=", "reminder"),
                    ("dunning_id.level_id", "=", self.template_id.level_id.id),
                ]
            )
            .move_id
        )

    def _duplicates_message(self, duplicates):
        return self.env._(
            "These invoices already have a reminder to send at level "
            "“%(level)s”; no reminder was created: %(invoices)s",
            level=self.template_id.level_id.name,
            invoices=", ".join(duplicates.mapped("name")),
        )

    def _group_moves(self, moves):
        if self.grouping == "partner":
            return moves.grouped(
                lambda m: (m.commercial_partner_id, m.currency_id, m.company_id)
            ).values()
        return list(moves)
