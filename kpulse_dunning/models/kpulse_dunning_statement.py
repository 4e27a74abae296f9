from odoo import api, fields, models
from odoo.exceptions import UserError

from ..report.kpulse_customer_statement import STATEMENT_REPORT

STATEMENT_MODEL = "report.kpulse_dunning.report_customer_statement"
STATEMENT_TABLES = "kpulse_dunning.customer_statement_tables"


class KpulseDunning(models.Model):
    """The customer statement seen from a reminder: printed for its customer
    and company, and inserted in templates as a dynamic field."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    # A dynamic field like those of kpulse_dunning_render_mixin.py, made of
    # HTML: not sanitized because it is rendered by QWeb from a view of this
    # module, which escapes every value (names, references); nothing of the
    # user's is evaluated. Searchable only for the editor's placeholder helper.
    statement_table = fields.Html(
        string="Customer Statement",
        compute="_compute_statement_table",
        search="_search_statement_table",
        sanitize=False,
        help="The customer's open invoices and credit notes with their totals "
        "by age (not due, 1–30, 31–60, 61–90, over 90 days late), as a table.",
    )

    # === COMPUTE METHODS === #

    @api.depends_context("lang")
    @api.depends("partner_id", "company_id")
    def _compute_statement_table(self):
        # One search of open items per company for the whole batch.
        Statement = self.env[STATEMENT_MODEL]
        statements = {
            company: Statement._statements(dunnings.partner_id, company)
            for company, dunnings in self.grouped("company_id").items()
        }
        IrQweb = self.env["ir.qweb"]
        for dunning in self:
            partner = dunning.partner_id.commercial_partner_id
            statement = statements[dunning.company_id].get(partner.id)
            dunning.statement_table = (
                IrQweb._render(STATEMENT_TABLES, {"statement": statement})
                if statement
                else False
            )

    def _search_statement_table(self, operator, value):
        raise UserError(
            self.env._(
                "The customer statement is computed when a reminder is "
                "rendered; it cannot be used in a filter."
            )
        )

    # === TEMPLATE SECURITY === #

    @api.model
    def mail_allowed_qweb_expressions(self):
        # A plain placeholder any template author may insert.
        return (*super().mail_allowed_qweb_expressions(), "object.statement_table")

    # === ACTIONS === #

    def action_print_statement(self):
        """Print the statement of these reminders' customers, in their
        company."""
        if not self:
            raise UserError(self.env._("Select at least one reminder."))
        if len(self.company_id) > 1:
            raise UserError(
                self.env._("Print the statements of one company at a time.")
            )
        partners = self.partner_id.commercial_partner_id
        # The company goes with the ids in the report's options: printed
        # with options, the report gets its ids from them.
        return self.env.ref(STATEMENT_REPORT).report_action(
            partners,
            data={"company_id": self.company_id.id, "partner_ids": partners.ids},
            config=False,
        )
