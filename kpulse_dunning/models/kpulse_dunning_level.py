from random import randint

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain


class KpulseDunningLevel(models.Model):
    _name = "kpulse.dunning.level"
    _description = "Reminder Level"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer(default=lambda self: randint(1, 11))
    sequence = fields.Integer(
        default=10, help="Levels are applied in this order, lowest first."
    )
    delay_days = fields.Integer(
        string="Delay (days)",
        default=0,
        help="Number of days after the due date from which this level applies. "
        "Negative for a courtesy reminder of invoices not yet due: -5 reminds "
        "from 5 days before the due date until the due date.",
    )
    is_courtesy = fields.Boolean(
        string="Courtesy Reminder",
        compute="_compute_is_courtesy",
        store=True,
        help="A level with a negative delay reminds of invoices before their "
        "due date, politely and without penalties. It is never proposed "
        "once an invoice is late.",
    )
    payment_delay_days = fields.Integer(
        string="Payment Delay (days)",
        default=8,
        help="Days given to the customer to pay, counted from the sending date.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to share the level between all companies.",
    )
    template_ids = fields.One2many("kpulse.dunning.template", "level_id")
    show_penalties = fields.Boolean(
        string="Show penalties",
        help="Penalties and indemnities appear in this level's letters and e-mails",
    )
    dunning_count = fields.Integer(compute="_compute_dunning_count")
    automatic = fields.Boolean(
        help="The daily automatic run creates and sends this level's reminders "
        "for the invoices that reached its delay.",
    )
    # What sending a reminder of this level does: one or more actions.
    action_email = fields.Boolean(
        string="E-mail",
        default=True,
        help="Send the reminder by e-mail, with its letter attached.",
    )
    action_letter = fields.Boolean(
        string="Letter by post",
        help="Queue the letter into a print batch for the reminder's "
        "responsible, who posts it.",
    )
    action_activity = fields.Boolean(
        string="Activity",
        help="Schedule an activity (e.g. a phone call) for the reminder's responsible.",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Activity Type",
        domain="[('res_model', 'in', [False, 'kpulse.dunning'])]",
    )
    activity_summary = fields.Char(translate=True)
    activity_delay_days = fields.Integer(
        string="Activity Due In (days)",
        help="Days between the sending and the activity's deadline.",
    )

    # === COMPUTE METHODS === #

    @api.depends("delay_days")
    def _compute_is_courtesy(self):
        for level in self:
            level.is_courtesy = level.delay_days < 0

    def _compute_dunning_count(self):
        counts = dict(
            self.env["kpulse.dunning"]._read_group(
                [("level_id", "in", self.ids)], ["level_id"], ["__count"]
            )
        )
        for level in self:
            level.dunning_count = counts.get(level, 0)

    # === CONSTRAINT METHODS === #

    @api.constrains("delay_days", "show_penalties", "sequence", "company_id", "active")
    def _check_courtesy_level(self):
        """A courtesy level (negative delay) shows no penalties, is the only
        active one of its companies, and comes before their other levels."""
        with_penalties = self.filtered(
            lambda level: level.is_courtesy and level.show_penalties
        )
        if with_penalties:
            raise ValidationError(
                self.env._(
                    "The reminder level “%(level)s” reminds of invoices before "
                    "their due date (negative delay): it cannot show penalties.",
                    level=with_penalties[0].name,
                )
            )
        if not self.filtered("active"):
            return
        # sudo: the order of the levels of every company is compared, also
        # of those the user does not see; only names, orders and companies
        # are read.
        others = self.sudo().search([("id", "not in", self.ids)]) | self.filtered(
            "active"
        )
        for level in self.filtered("active"):
            for other in others - level:
                if (
                    level.company_id
                    and other.company_id
                    and level.company_id != other.company_id
                ):
                    continue
                if level.is_courtesy and other.is_courtesy:
                    raise ValidationError(
                        self.env._(
                            "Only one courtesy reminder level (negative delay) "
                            "can be active per company: “%(level)s” and "
                            "“%(other)s”.",
                            level=level.name,
                            other=other.name,
                        )
                    )
                courtesy, normal = (
                    (level, other) if level.is_courtesy else (other, level)
                )
                if (
                    courtesy.is_courtesy
                    and not normal.is_courtesy
                    and (courtesy.sequence, courtesy.id) > (normal.sequence, normal.id)
                ):
                    raise ValidationError(
                        self.env._(
                            "The courtesy reminder level “%(courtesy)s” reminds "
                            "before the due date: it comes first. Give it an "
                            "order lower than that of “%(level)s” (%(sequence)s).",
                            courtesy=courtesy.name,
                            level=normal.name,
                            sequence=normal.sequence,
                        )
                    )

    @api.constrains("action_email", "action_letter", "action_activity")
    def _check_one_action(self):
        idle = self.filtered(
            lambda level: not (
                level.action_email or level.action_letter or level.action_activity
            )
        )
        if idle:
            raise ValidationError(
                self.env._(
                    "The reminder level “%(level)s” does nothing: choose at least "
                    "one action (e-mail, letter by post or activity).",
                    level=idle[0].name,
                )
            )

    @api.constrains("action_activity", "activity_type_id")
    def _check_activity_type(self):
        missing = self.filtered(
            lambda level: level.action_activity and not level.activity_type_id
        )
        if missing:
            raise ValidationError(
                self.env._(
                    "The reminder level “%(level)s” schedules an activity: choose "
                    "its type.",
                    level=missing[0].name,
                )
            )

    @api.constrains("sequence", "company_id", "active")
    def _check_unique_sequence(self):
        active_levels = self.filtered("active")
        if not active_levels:
            return
        candidates = self.search(
            [
                ("id", "not in", active_levels.ids),
                ("sequence", "in", active_levels.mapped("sequence")),
            ]
        )
        for level in active_levels:
            clash = (candidates | active_levels - level).filtered(
                lambda other, level=level: other.sequence == level.sequence
                and (
                    not other.company_id
                    or not level.company_id
                    or other.company_id == level.company_id
                )
            )
            if clash:
                raise ValidationError(
                    self.env._(
                        "The reminder levels “%(level)s” and “%(other)s” have the "
                        "same order (%(sequence)s). Give each active level of a "
                        "company its own order.",
                        level=level.name,
                        other=clash[0].name,
                        sequence=level.sequence,
                    )
                )

    # === BUSINESS METHODS === #

    @api.model
    def _get_company_levels(self, company):
        """Active levels usable by ``company``, in order."""
        return self.search(
            Domain("company_id", "in", [False, company.id]), order="sequence, id"
        )

    def _get_next_level(self, company):
        """The level after this one in ``company``'s chain, or an empty record.

        ``company`` is the reminder's: a shared level leads to different
        levels in different companies.
        """
        self.ensure_one()
        levels = self._get_company_levels(company)
        # A courtesy level comes first and is never the next one: after it
        # comes the first level of the late invoices.
        higher = levels.filtered(
            lambda lvl: not lvl.is_courtesy
            and (lvl.sequence, lvl.id) > (self.sequence, self.id)
        )
        return higher[:1]

    def _action_labels(self):
        """The actions of this level, as the user reads them."""
        self.ensure_one()
        return ", ".join(
            self._fields[fname].get_description(self.env)["string"]
            for fname in ("action_email", "action_letter", "action_activity")
            if self[fname]
        )

    def _get_default_template(self, company):
        """The first active reminder template of this level usable by
        ``company`` (late-payment claim templates are left out)."""
        self.ensure_one()
        return self.template_ids.filtered(
            lambda template: template.active
            and template.claim_type == "reminder"
            and template.company_id in (company, company.browse())
        )[:1]

    def action_open_dunnings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kpulse_dunning.kpulse_dunning_action"
        )
        action["domain"] = [("level_id", "=", self.id)]
        return action
