from odoo import api, models
from odoo.tools import SQL


class KpulseDunning(models.Model):
    """Reminder references: drawn from the sequence of each reminder's own
    company, many at once for a batch."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "kpulse.dunning"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _assign_names(self, vals_list):
        """Give each reminder without one a reference from the sequence of
        its own company, drawn per company at once."""
        default_company_id = self.default_get(["company_id"]).get("company_id")
        to_name = {}
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                company_id = vals.get("company_id") or default_company_id
                to_name.setdefault(company_id, []).append(vals)
        for company_id, company_vals in to_name.items():
            names = self._next_names(
                self.env["res.company"].browse(company_id), len(company_vals)
            )
            for vals, name in zip(company_vals, names, strict=True):
                vals["name"] = name

    @api.model
    def _next_names(self, company, count):
        """Draw ``count`` references of ``company`` at once, not one query
        per reminder."""
        if not count:
            return []
        sequence = self._reference_sequence(company)
        if not sequence:
            return ["/"] * count
        if sequence.implementation != "standard" or sequence.use_date_range:
            return [sequence._next() for _i in range(count)]
        # Raw SQL, safe: the sequence's own PostgreSQL sequence, as
        # ir.sequence._next() would call it, drawn count times at once.
        rows = self.env.execute_query(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        # get_next_char() interpolates the prefix for every number: do it once.
        prefix, suffix = sequence._get_prefix_suffix()
        return [f"{prefix}{number:0{sequence.padding}d}{suffix}" for (number,) in rows]

    @api.model
    def _reference_sequence(self, company):
        # sudo: billing users may not read ir.sequence, as for invoice
        # numbers; only the reminder sequence of that company (or the shared
        # one) is used, never shown.
        return (
            self.env["ir.sequence"]
            .sudo()
            .search(
                [
                    ("code", "=", "kpulse.dunning"),
                    ("company_id", "in", [company.id, False]),
                ],
                order="company_id",
                limit=1,
            )
        )

    @api.model
    def _next_name_preview(self, company):
        """The reference the next reminder will get, without drawing it."""
        sequence = self._reference_sequence(company)
        if not sequence:
            return "/"
        return sequence.get_next_char(sequence.number_next_actual)
