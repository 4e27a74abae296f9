from odoo import api, fields, models
from odoo.fields import Command

# Columns of a line and of a penalty period inserted by _insert_batch, with
# their PostgreSQL array types.
LINE_COLUMNS = {
    "dunning_id": "int4",
    "move_id": "int4",
    "currency_id": "int4",
    "amount_residual": "numeric",
    "invoice_date_due": "date",
    "date_paid": "date",
    "days_overdue": "int4",
    "penalty_amount": "float8",
    "indemnity_amount": "float8",
    "penalty_rate": "numeric",
}
PERIOD_COLUMNS = {
    "line_id": "int4",
    "date_due": "date",
    "date_from": "date",
    "date_to": "date",
    "days": "int4",
    "base_amount": "float8",
    "rate": "numeric",
    "amount": "float8",
}


class KpulseDunningLine(models.Model):
    _name = "kpulse.dunning.line"
    _inherit = ["kpulse.dunning.company.check"]
    _description = "Payment Reminder Invoice"
    _order = "invoice_date_due, id"
    _check_company_auto = True
    # A line is written with its reminder and belongs to it: who created or
    # changed it is the reminder's log. Without log columns of its own, a
    # batch of 10,000 reminders checks 20,000 fewer foreign keys to
    # res_users (as mail.followers and ir.profile, which avoid them too).
    _log_access = False

    dunning_id = fields.Many2one(
        "kpulse.dunning",
        string="Reminder",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(related="dunning_id.company_id")
    partner_id = fields.Many2one(related="dunning_id.partner_id")
    # Stored: every amount written on a line is rounded in it. Batches give it
    # in the values; the compute serves lines created one by one.
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id", store=True
    )
    # The invoice's own fields are read with the reader's rights (related
    # fields are read as superuser by default).
    invoice_date = fields.Date(related="move_id.invoice_date", compute_sudo=False)
    amount_total = fields.Monetary(related="move_id.amount_total", compute_sudo=False)
    amount_residual = fields.Monetary(
        string="Amount Due",
        readonly=True,
        help="Amount still due on the invoice when the reminder was created, "
        "updated when it is sent.",
    )
    current_amount_residual = fields.Monetary(
        string="Amount Due Now", related="move_id.amount_residual", compute_sudo=False
    )
    invoice_date_due = fields.Date(string="Due Date", readonly=True)
    date_paid = fields.Date(
        string="Paid On",
        readonly=True,
        help="Late-payment claims: the last day the invoice was late, that "
        "of its last late payment.",
    )
    days_overdue = fields.Integer(
        string="Days Late",
        compute="_compute_days_overdue",
        store=True,
        help="Days between the due date and the reminder date (for a "
        "late-payment claim, the payment date).",
    )
    # Floats, not Monetary: the amounts are rounded in the invoice currency
    # when computed, and Monetary's per-record rounding doubles the cost of
    # creating reminders by the thousand.
    penalty_amount = fields.Float(
        string="Penalty",
        compute="_compute_penalties",
        store=True,
        help="Late-payment penalty on the amount due at the reminder date.",
    )
    indemnity_amount = fields.Float(
        string="Fixed Indemnity",
        compute="_compute_penalties",
        store=True,
        help="Fixed indemnity for recovery costs, in the invoice currency.",
    )
    penalty_rate = fields.Float(
        string="Penalty Rate (%)",
        digits=(16, 4),
        compute="_compute_penalties",
        store=True,
        help="Annual penalty rate on the reminder date.",
    )

    penalty_ids = fields.One2many(
        "kpulse.dunning.penalty",
        "line_id",
        string="Penalty Periods",
        help="How the penalty was computed: each period of constant amount "
        "due and rate, with its days and penalty.",
    )

    _unique_move_per_dunning = models.Constraint(
        "UNIQUE(dunning_id, move_id)",
        "An invoice appears only once in a reminder.",
    )

    @api.depends("move_id")
    def _compute_currency_id(self):
        for line in self:
            line.currency_id = line.move_id.currency_id

    @api.depends("move_id", "dunning_id.date", "dunning_id.claim_type")
    def _compute_penalties(self):
        # Batches give these values (and the periods) at creation; this serves
        # lines added one by one. Payments do not change them: they are as at
        # the reminder's penalty date, until it is sent (_refresh_claim).
        for (date, claim_type), lines in self.grouped(
            lambda line: (
                line.dunning_id.penalty_date or line.dunning_id.date,
                line.dunning_id.claim_type,
            )
        ).items():
            values = (
                lines.move_id._kpulse_penalty_values(
                    date, claim=claim_type == "late_payment"
                )
                if date
                else {}
            )
            for line in lines:
                line_values = values.get(line.move_id.id, {})
                line.penalty_amount = line_values.get("penalty_amount", 0.0)
                line.indemnity_amount = line_values.get("indemnity_amount", 0.0)
                line.penalty_rate = line_values.get("penalty_rate", 0.0)

    @api.depends("invoice_date_due", "dunning_id.date", "date_paid")
    def _compute_days_overdue(self):
        for line in self:
            if line.invoice_date_due and line.date_paid:
                line.days_overdue = max(
                    (line.date_paid - line.invoice_date_due).days, 0
                )
            elif line.invoice_date_due and line.dunning_id.date:
                line.days_overdue = max(
                    (line.dunning_id.date - line.invoice_date_due).days, 0
                )
            else:
                line.days_overdue = 0

    @api.model
    def _prepare_lines(self, moves, date, penalties=None, claim=False):
        """Commands creating one line per invoice, with its balance and its
        late-payment penalty on ``date``.

        :param dict penalties: ``_kpulse_penalty_values`` of a larger batch,
            so that a batch of reminders computes them once.
        :param bool claim: lines of a late-payment claim: their days late
            run to the last late payment (``date_paid``).
        """
        if penalties is None:
            penalties = moves._kpulse_penalty_values(date, claim=claim)
        commands = []
        for move in moves:
            due = move.invoice_date_due
            values = self._penalty_line_values(penalties[move.id], due)
            if not claim:
                del values["date_paid"]
            last_day = values.get("date_paid") or date
            commands.append(
                Command.create(
                    {
                        "move_id": move.id,
                        "currency_id": move.currency_id.id,
                        "amount_residual": move.amount_residual,
                        "invoice_date_due": due,
                        "days_overdue": max((last_day - due).days, 0) if due else 0,
                        **values,
                    }
                )
            )
        return commands

    @api.model
    def _penalty_line_values(self, values, due=None):
        """Line values of one invoice's ``_kpulse_penalty_values``.

        ``date_paid`` is the last late day of its periods: for an invoice
        paid late, the day of its last late payment (or ``due``).
        """
        return {
            "penalty_amount": values["penalty_amount"],
            "indemnity_amount": values["indemnity_amount"],
            "penalty_rate": values["penalty_rate"],
            "penalty_ids": [Command.create(period) for period in values["periods"]],
            "date_paid": max(
                (period["date_to"] for period in values["periods"]), default=due
            )
            or False,
        }

    @api.model
    def _insert_batch(self, dunnings, line_values):
        """Insert the lines of new ``dunnings`` and their penalty periods:
        ``line_values[i]`` are the values of ``dunnings[i]``'s lines, as
        ``_prepare_lines`` gives them, every computed value included.

        Through the ORM, 20,000 records of a batch of 10,000 reminders cost
        more than the reminders themselves (defaults, conversions, recompute
        marks), for values that are all known here.
        """
        self.check_access("create")
        self.env["kpulse.dunning.penalty"].check_access("create")
        Batch = self.env["kpulse.dunning.batch"]
        rows = []
        periods_by_key = {}
        for dunning, lines in zip(dunnings, line_values, strict=True):
            for values in lines:
                row = dict.fromkeys(LINE_COLUMNS, None)
                row.update(
                    (name, value)
                    for name, value in values.items()
                    if name in LINE_COLUMNS
                )
                row["dunning_id"] = dunning.id
                rows.append(row)
                periods_by_key[dunning.id, values["move_id"]] = [
                    command[2] for command in values.get("penalty_ids", [])
                ]
        if not rows:
            return self.browse()
        moves = self.env["account.move"].browse({row["move_id"] for row in rows})
        # check_company, as the ORM would check it: a line's invoice belongs
        # to its reminder's company (the line's company is the reminder's).
        # sudo: as Odoo's own check, which reads the linked records' company
        # whatever the user may read; only the company ids are compared.
        company_of_move = {move.id: move.company_id.id for move in moves.sudo()}
        company_of_dunning = {dunning.id: dunning.company_id.id for dunning in dunnings}
        wrong = [
            row
            for row in rows
            if company_of_move[row["move_id"]] != company_of_dunning[row["dunning_id"]]
        ]
        if wrong:
            # Odoo's own check and message on the records as they would be.
            self.new(wrong[0])._check_company()
        # Raw SQL, safe: create access is checked above and record rules
        # below, the values are bound parameters computed by _prepare_lines,
        # every referenced record was read through the ORM and the one
        # stored field of another model depending on lines (the invoices'
        # last level sent) ignores reminders never sent, as these are.
        # Outputs are invalidated below.
        inserted = Batch._insert_rows(
            self, LINE_COLUMNS, rows, returning=("dunning_id", "move_id")
        )
        line_of_key = {
            (dunning_id, move_id): id_ for id_, dunning_id, move_id in inserted
        }
        lines = self.browse([id_ for id_, _dunning_id, _move_id in inserted])
        period_rows = [
            dict(
                dict.fromkeys(PERIOD_COLUMNS, None), **period, line_id=line_of_key[key]
            )
            for key, periods in periods_by_key.items()
            for period in periods
        ]
        Batch._invalidate_inverses(self, LINE_COLUMNS, rows)
        if period_rows:
            # Same reasons: values computed by _kpulse_penalty_values.
            Penalty = self.env["kpulse.dunning.penalty"]
            Batch._insert_rows(Penalty, PERIOD_COLUMNS, period_rows)
            Batch._invalidate_inverses(Penalty, PERIOD_COLUMNS, period_rows)
        lines.check_access("create")  # record rules, on the lines as created
        return lines
