from odoo import models
from odoo.fields import Domain

# Above this many linked records, their companies are checked in SQL.
MANY_LINKED = 1000


class KpulseDunningCompanyCheck(models.AbstractModel):
    """Odoo's company consistency check, made once per company for a batch.

    ``BaseModel._check_company`` filters the linked records of each record
    on its own: for a batch of 10,000 reminder lines it builds and evaluates
    tens of thousands of one-record domains, which cost more than creating
    the lines. The domain only depends on the company, so here the linked
    records of all records of one company are filtered at once; the records
    whose values fail are then checked again by Odoo's own method, which
    raises its usual message. The rule enforced is the same.
    """

    _name = "kpulse.dunning.company.check"
    _description = "Payment Reminder Company Check"

    def _check_company(self, fnames=None):
        if len(self) < 2 or "company_id" not in self._fields:
            return super()._check_company(fnames)
        if fnames is None or {"company_id", "company_ids"} & set(fnames):
            fnames = self._fields
        fields = [
            self._fields[name]
            for name in fnames
            if self._fields[name].relational and self._fields[name].check_company
        ]
        if any(field.company_dependent for field in fields):
            return super()._check_company(fnames)
        suspects = self.browse()
        # Most batches belong to one company: no grouping record by record
        # (two thirds of this check's time on 10,000 reminders). Only where
        # every record has a company: else some may have none.
        companies = self.company_id
        if len(companies) == 1 and self._fields["company_id"].required:
            by_company = {companies: self}
        else:
            by_company = self.grouped("company_id")
        for company, records in by_company.items():
            for field in fields:
                # sudo: as Odoo's check, which reads the linked records'
                # companies whatever the user may read.
                linked = records.sudo()[field.name]
                if not linked:
                    continue
                domain = linked._check_company_domain(company)
                if not domain:
                    continue
                linked = linked.with_context(active_test=False)
                if len(linked) > MANY_LINKED:
                    # One query, rather than reading every field of each
                    # linked record to filter them in Python (the previous
                    # reminders of an escalation: 0.1 s for 10,000).
                    valid = linked.search(
                        Domain("id", "in", linked.ids) & Domain(domain)
                    )
                else:
                    valid = linked.filtered_domain(domain)
                invalid = linked - valid
                if invalid:
                    suspects |= records.filtered(
                        lambda record, name=field.name, invalid=invalid: (
                            record.sudo()[name] & invalid
                        )
                    )
        if suspects:
            # Odoo's own check on the culprits: its message, its exception.
            super(KpulseDunningCompanyCheck, suspects)._check_company(fnames)
        return None
