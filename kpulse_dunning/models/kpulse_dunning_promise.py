from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_amount, format_date


class KpulseDunningPromise(models.Model):
    """The customer's word: a promise to pay an amount by a date. While it
    runs, automatic runs leave the customer alone; once the promised amount
    is paid it is kept, and when its date passes unpaid it is broken and the
    reminders resume at the next level."""

    _name = "kpulse.dunning.promise"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Promise to Pay"
    _order = "date desc, id desc"
    _check_company_auto = True

    # One running promise per customer and company: of two users recording
    # one at the same time, the second gets this message (create() gives a
    # clearer one when the first is already saved).
    _one_running_per_customer = models.UniqueIndex(
        "(partner_id, company_id) WHERE state = 'running'",
        "This customer has just promised to pay (recorded by someone else): "
        "reload the page.",
    )

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain="['|', ('is_company', '=', True), ('parent_id', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    dunning_id = fields.Many2one(
        "kpulse.dunning",
        string="Reminder",
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        help="The reminder the promise was recorded from.",
    )
    move_ids = fields.Many2many(
        "account.move",
        "kpulse_dunning_promise_move_rel",
        "promise_id",
        "move_id",
        string="Invoices Concerned",
        compute="_compute_move_ids",
        store=True,
        readonly=False,
        precompute=True,
        check_company=True,
        domain="[('commercial_partner_id', '=', partner_id), "
        "('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('payment_state', 'in', ('not_paid', 'partial')), "
        "('currency_id', '=', currency_id)]",
        help="Open invoices the customer promised to pay: the reminder's, or "
        "all the customer's open invoices in this company.",
    )
    date = fields.Date(
        string="Promised Date",
        required=True,
        tracking=True,
        help="Day the customer promised to pay by. The day after, an unpaid "
        "promise is broken.",
    )
    amount = fields.Monetary(
        string="Promised Amount",
        compute="_compute_amount",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="Amount the customer promised to pay: by default the amount due "
        "on the invoices concerned.",
    )
    amount_due_at_promise = fields.Monetary(
        string="Amount Due When Promised",
        readonly=True,
        copy=False,
        help="Amount due on the invoices concerned when the promise was "
        "recorded: what has been paid since is measured from it.",
    )
    amount_paid = fields.Monetary(
        string="Paid Since the Promise",
        compute="_compute_amount_paid",
        help="Payments (and credit notes) reconciled with the invoices "
        "concerned since the promise was recorded.",
    )
    note = fields.Text()
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        compute="_compute_user_id",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        domain="[('share', '=', False)]",
        help="Who follows the promise up: the customer's follow-up "
        "responsible. A broken promise gives them an activity.",
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("kept", "Kept"),
            ("broken", "Broken"),
            ("cancel", "Cancelled"),
        ],
        string="Status",
        default="running",
        required=True,
        index=True,
        tracking=True,
        copy=False,
    )

    # === COMPUTE METHODS === #

    @api.depends("partner_id", "company_id", "dunning_id")
    def _compute_move_ids(self):
        # The open invoices of every customer of the batch, in one search.
        Move = self.env["account.move"]
        partners = self.partner_id.commercial_partner_id
        open_moves = Move.search(
            self._open_invoices_domain()
            & Domain("commercial_partner_id", "in", partners.ids)
            & Domain("company_id", "in", self.company_id.ids),
            order="invoice_date_due, id",
        )
        by_customer = open_moves.grouped(
            lambda move: (move.commercial_partner_id, move.company_id)
        )
        for promise in self:
            moves = by_customer.get(
                (promise.partner_id.commercial_partner_id, promise.company_id), Move
            )
            if promise.dunning_id:
                moves &= promise.dunning_id.line_ids.move_id
            # One currency: the company's when it has invoices in it.
            currency = (
                promise.company_id.currency_id
                if promise.company_id.currency_id in moves.currency_id
                else moves.currency_id[:1]
            )
            promise.move_ids = moves.filtered(lambda m, c=currency: m.currency_id == c)

    @api.depends("move_ids", "company_id")
    def _compute_currency_id(self):
        for promise in self:
            promise.currency_id = (
                promise.move_ids.currency_id[:1] or promise.company_id.currency_id
            )

    @api.depends("move_ids")
    def _compute_amount(self):
        for promise in self:
            promise.amount = sum(promise.move_ids.mapped("amount_residual"))

    @api.depends("partner_id", "company_id")
    def _compute_user_id(self):
        Partner = self.env["res.partner"]
        for company, promises in self.grouped("company_id").items():
            users = Partner._kpulse_followup_users(promises.partner_id, company)
            for promise in promises:
                promise.user_id = (
                    users.get(promise.partner_id.commercial_partner_id.id)
                    or self.env.user
                )

    @api.depends("amount_due_at_promise", "move_ids.amount_residual")
    def _compute_amount_paid(self):
        # The invoices of the whole batch are read at once (prefetch).
        for promise in self:
            due = sum(promise.move_ids.mapped("amount_residual"))
            promise.amount_paid = max(promise.amount_due_at_promise - due, 0.0)

    @api.depends("partner_id", "amount", "currency_id", "date")
    def _compute_display_name(self):
        for promise in self:
            if not promise.partner_id:
                promise.display_name = self.env._("New Promise to Pay")
                continue
            promise.display_name = self.env._(
                "%(customer)s: %(amount)s by %(date)s",
                customer=promise.partner_id.display_name,
                amount=format_amount(self.env, promise.amount, promise.currency_id),
                date=format_date(self.env, promise.date),
            )

    # === CONSTRAINT METHODS === #

    @api.constrains("amount")
    def _check_amount(self):
        for promise in self:
            if promise.currency_id.compare_amounts(promise.amount, 0.0) <= 0:
                raise ValidationError(
                    self.env._(
                        "The promised amount must be positive (promise of "
                        "%(customer)s).",
                        customer=promise.partner_id.display_name,
                    )
                )

    @api.constrains("date")
    def _check_date(self):
        today = fields.Date.context_today(self)
        for promise in self:
            if promise.state == "running" and promise.date < today:
                raise ValidationError(
                    self.env._(
                        "The promised date (%(date)s) is in the past: a "
                        "customer promises to pay today or later.",
                        date=format_date(self.env, promise.date),
                    )
                )

    @api.constrains("move_ids", "partner_id", "currency_id", "state")
    def _check_move_ids(self):
        for promise in self:
            if promise.state == "running" and not promise.move_ids:
                raise ValidationError(
                    self.env._(
                        "%(customer)s has no open invoice for this promise to cover.",
                        customer=promise.partner_id.display_name,
                    )
                )
            wrong = promise.move_ids.filtered(
                lambda move, p=promise: (
                    move.move_type != "out_invoice"
                    or move.commercial_partner_id != p.partner_id.commercial_partner_id
                    or move.currency_id != p.currency_id
                )
            )
            if wrong:
                raise ValidationError(
                    self.env._(
                        "A promise covers customer invoices of its customer, "
                        "in its currency (%(currency)s), only: %(invoices)s",
                        currency=promise.currency_id.name,
                        invoices=", ".join(wrong.mapped("display_name")),
                    )
                )

    # === CRUD === #

    @api.model_create_multi
    def create(self, vals_list):
        # Rights first: the checks below read every promise.
        self.check_access("create")
        # A promise is the customer's: its commercial partner, whichever
        # contact it was recorded on (one read for the batch).
        Partner = self.env["res.partner"]
        partners = Partner.browse(
            [vals["partner_id"] for vals in vals_list if vals.get("partner_id")]
        )
        partners.fetch(["commercial_partner_id"])
        default_company_id = (
            self.env.context.get("default_company_id") or self.env.company.id
        )
        for vals in vals_list:
            if vals.get("partner_id"):
                vals["partner_id"] = Partner.browse(
                    vals["partner_id"]
                ).commercial_partner_id.id
        self._check_no_running_promise(
            [
                (vals.get("partner_id"), vals.get("company_id") or default_company_id)
                for vals in vals_list
                if vals.get("state", "running") == "running"
            ]
        )
        promises = super().create(vals_list)
        for promise in promises:
            promise.amount_due_at_promise = sum(
                promise.move_ids.mapped("amount_residual")
            )
        promises._log_recorded()
        # The customer answered: automatic runs no longer wait for a reply.
        # sudo: a flag of the customer that recording his promise clears,
        # whether or not this billing user may edit contacts.
        promises.partner_id.sudo()._kpulse_clear_reply_pending()
        return promises

    def write(self, vals):
        frozen = {"partner_id", "company_id", "move_ids", "dunning_id"} & set(vals)
        if frozen and self:
            raise UserError(
                self.env._(
                    "The customer and the invoices of a recorded promise do not "
                    "change: cancel it and record a new one."
                )
            )
        return super().write(vals)

    # === ACTIONS === #

    def action_check(self):
        """Settle the running ones now, as the daily check would."""
        running = self.filtered(lambda p: p.state == "running")
        if not running:
            raise UserError(self.env._("Only running promises are checked."))
        kept, broken = running._check_promises()
        return self._notify(
            self.env._(
                "%(kept)s kept, %(broken)s broken, %(running)s still running.",
                kept=len(kept),
                broken=len(broken),
                running=len(running - kept - broken),
            )
        )

    def action_mark_kept(self):
        """The responsible knows the customer kept his word (paid by a means
        not reconciled yet, agreed otherwise)."""
        running = self.filtered(lambda p: p.state == "running")
        if not running:
            raise UserError(self.env._("Only running promises can be marked kept."))
        running.state = "kept"

    def action_cancel(self):
        running = self.filtered(lambda p: p.state == "running")
        if not running:
            raise UserError(self.env._("Only running promises can be cancelled."))
        running.state = "cancel"

    def action_open_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self.move_ids.ids)]
        action["context"] = {"create": False}
        return action

    def _notify(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Promises to pay"),
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _action_record(self, partner, company, dunning=None):
        """The form of a new promise of ``partner`` in ``company``, in a
        dialog, with its defaults (from ``dunning`` when given)."""
        self.check_access("create")
        partner = partner.commercial_partner_id
        running = self._running_promises(partner, company)
        if running:
            promise = next(iter(running.values()))
            raise UserError(
                self.env._(
                    "%(customer)s has already promised to pay %(amount)s by "
                    "%(date)s. Open that promise to change or cancel it; a "
                    "customer has one running promise at a time.",
                    customer=partner.display_name,
                    amount=format_amount(self.env, promise.amount, promise.currency_id),
                    date=format_date(self.env, promise.date),
                )
            )
        context = {
            "default_partner_id": partner.id,
            "default_company_id": company.id,
        }
        if dunning:
            context["default_dunning_id"] = dunning.id
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Promise to Pay"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": context,
        }

    # === BUSINESS METHODS === #

    @api.model
    def _open_invoices_domain(self):
        return Domain(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("amount_residual", ">", 0),
            ]
        )

    @api.model
    def _running_promises(self, partners, companies):
        """``{(commercial partner id, company id): promise}`` of the running
        promises of these customers in these companies, in one search, as the
        current user may read them."""
        promises = self.search(
            [
                ("state", "=", "running"),
                ("partner_id", "in", partners.commercial_partner_id.ids),
                ("company_id", "in", companies.ids),
            ]
        )
        return {
            (promise.partner_id.id, promise.company_id.id): promise
            for promise in promises
        }

    def _check_no_running_promise(self, keys):
        """Refuse a second running promise for a customer and company."""
        keys = [
            (partner_id, company_id) for partner_id, company_id in keys if partner_id
        ]
        if not keys:
            return
        if len(set(keys)) < len(keys):
            raise UserError(
                self.env._("A customer has one running promise to pay at a time.")
            )
        # sudo: the rule is the customer's, whoever recorded the promise.
        running = self.sudo()._running_promises(
            self.env["res.partner"].browse({key[0] for key in keys}),
            self.env["res.company"].browse({key[1] for key in keys}),
        )
        clashes = [running[key] for key in keys if key in running]
        if clashes:
            raise UserError(
                self.env._(
                    "A customer has one running promise to pay at a time; "
                    "cancel it before recording another: %(promises)s",
                    promises=", ".join(p.display_name for p in clashes),
                )
            )

    def _log_recorded(self):
        """A note on the reminder (or the customer) each promise was recorded
        from, in one batch per model."""
        bodies = {
            promise: Markup("<p>%s</p>%s")
            % (
                self.env._(
                    "Promise to pay %(amount)s by %(date)s recorded.",
                    amount=format_amount(self.env, promise.amount, promise.currency_id),
                    date=format_date(self.env, promise.date),
                ),
                Markup("<p>%s</p>") % promise.note if promise.note else "",
            )
            for promise in self
        }
        self._log_on_origin(bodies)

    def _log_on_origin(self, bodies):
        """Log ``{promise: body}`` on each promise's reminder, else on its
        customer: one batch per model."""
        with_dunning = self.filtered("dunning_id")
        if with_dunning:
            with_dunning.dunning_id._message_log_batch(
                {promise.dunning_id.id: bodies[promise] for promise in with_dunning}
            )
        others = self - with_dunning
        if others:
            others.partner_id._message_log_batch(
                {promise.partner_id.id: bodies[promise] for promise in others}
            )
