from odoo import fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain


class KpulseDunningCreate(models.TransientModel):
    """A courtesy template (level with a negative delay) for the invoices not
    yet due only, and the templates of the other levels for late ones only:
    a courtesy letter does not remind of a late invoice, nor a first
    reminder of an invoice not yet due."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning.create"  # pylint: disable=consider-merging-classes-inherited

    def _create_dunnings(self):
        self._check_courtesy_template()
        return super()._create_dunnings()

    def _check_courtesy_template(self):
        if not self.move_ids:
            return
        level = self.template_id.level_id
        not_late = Domain("invoice_date_due", ">=", fields.Date.context_today(self))
        if level.is_courtesy:
            not_late = ~not_late
        # One query on the selection, which may hold thousands of invoices:
        # only the refused ones are read, for their names.
        wrong = self.env["account.move"].search(
            Domain("id", "in", self.move_ids.ids) & not_late
        )
        if not wrong:
            return
        invoices = ", ".join(wrong.mapped("name"))
        if level.is_courtesy:
            raise UserError(
                self.env._(
                    "The template “%(template)s” is a courtesy reminder, for "
                    "invoices not yet due. These invoices are already late: "
                    "%(invoices)s. Choose a template of another level for them.",
                    template=self.template_id.name,
                    invoices=invoices,
                )
            )
        raise UserError(
            self.env._(
                "These invoices are not due yet: before their due date, only a "
                "courtesy reminder can be sent, not one of level “%(level)s”: "
                "%(invoices)s.",
                level=level.name,
                invoices=invoices,
            )
        )
