from collections import defaultdict

from odoo import api, fields, models, modules, tools
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL

from ..models.account_move_eligibility import _days_late

STATEMENT_REPORT = "kpulse_dunning.action_report_customer_statement"

# The aging buckets of the statement and of the aging report, oldest last:
# (key, last day late in the bucket); None: no end. 0 days late: not due.
AGING_BUCKETS = (
    ("not_due", 0),
    ("1_30", 30),
    ("31_60", 60),
    ("61_90", 90),
    ("over_90", None),
)


def aging_bucket(days_late):
    """Key of the aging bucket of an item ``days_late`` days late."""
    for key, last in AGING_BUCKETS:
        if last is None or days_late <= last:
            return key
    return AGING_BUCKETS[-1][0]


def aging_bucket_sql(days_late):
    """The same rule as an SQL expression, for reports grouped in SQL.

    :param SQL days_late: the days late of a row (0 when not due).
    """
    whens = SQL(" ").join(
        SQL("WHEN %s <= %s THEN %s", days_late, last, key)
        for key, last in AGING_BUCKETS
        if last is not None
    )
    return SQL("(CASE %s ELSE %s END)", whens, AGING_BUCKETS[-1][0])


class ReportKpulseCustomerStatement(models.AbstractModel):
    """The customer statement: open invoices and credit notes with their
    days late, and their totals by age, in the company's currency and in
    each invoice currency.

    Read only. The open items of all the customers printed are found in one
    search per company; their PDFs, when the engine attaches them to
    reminders, in one wkhtmltopdf run per company (see the letter engine,
    whose conversion and split it uses).
    """

    _name = "report.kpulse_dunning.report_customer_statement"
    _description = "Customer Statement"

    @api.model
    def _get_report_values(self, docids, data=None):
        data = data or {}
        # Printed with options (from a reminder), the ids come in the data.
        ids = docids or data.get("partner_ids") or []
        partners = self.env["res.partner"].browse(ids).commercial_partner_id
        company = self._statement_company(data.get("company_id"))
        date = fields.Date.to_date(data.get("date")) if data.get("date") else None
        return {
            "doc_ids": partners.ids,
            "doc_model": "res.partner",
            "docs": partners,
            "statements": self._statements(partners, company, date),
        }

    @api.model
    def _statement_company(self, company_id=None):
        """The company of the statements: the one asked (a reminder's), or
        the company the user works in."""
        if not company_id:
            return self.env.company
        company = self.env["res.company"].browse(int(company_id)).exists()
        if not company or (
            not self.env.su and company not in self.env.user.company_ids
        ):
            raise UserError(self.env._("You cannot print statements of this company."))
        return company

    # === OPEN ITEMS AND AGING === #

    @api.model
    def _aging_bucket_labels(self):
        """{bucket key: label}, in the order of ``AGING_BUCKETS``."""
        return {
            "not_due": self.env._("Not due"),
            "1_30": self.env._("1–30 days"),
            "31_60": self.env._("31–60 days"),
            "61_90": self.env._("61–90 days"),
            "over_90": self.env._("Over 90 days"),
        }

    @api.model
    def _open_items(self, partners, company, date=None):
        """The open items of these customers in ``company`` on ``date``
        (today by default): ``{commercial partner: [item]}``, each item a
        dict, oldest due first.

        An item is one open installment of a posted customer invoice or
        credit note (its receivable line, so that an invoice paid in
        installments is aged per installment), with what is still due in
        the company's currency (``amount``) and in the invoice's currency
        (``amount_currency``), both negative for a credit note. Found in
        one search for all the customers; the amounts still due are today's.
        """
        date = date or fields.Date.context_today(self)
        commercial = partners.commercial_partner_id
        if not commercial:
            return {}
        lines = self.env["account.move.line"].search(
            Domain("company_id", "=", company.id)
            & Domain("partner_id", "in", commercial.ids)
            & Domain("display_type", "=", "payment_term")
            & Domain("parent_state", "=", "posted")
            & Domain("move_id.move_type", "in", ("out_invoice", "out_refund"))
            & Domain("reconciled", "=", False)
            & Domain("invoice_date", "<=", date),
            order="partner_id, date_maturity, move_name, id",
        )
        items = defaultdict(list)
        for line in lines:
            days_late = _days_late(line.date_maturity, date)
            items[line.partner_id].append(
                {
                    "move": line.move_id,
                    "is_refund": line.move_id.move_type == "out_refund",
                    "invoice_date": line.invoice_date,
                    "date_due": line.date_maturity,
                    "days_late": days_late,
                    "bucket": aging_bucket(days_late),
                    "currency": line.currency_id,
                    "amount_currency": line.amount_residual_currency,
                    "amount": line.amount_residual,
                }
            )
        return dict(items)

    @api.model
    def _aging_totals(self, items, currency, amount_key):
        """{bucket key: total, ..., "total": total} of ``items``' amounts."""
        totals = dict.fromkeys((key for key, _last in AGING_BUCKETS), 0.0)
        for item in items:
            totals[item["bucket"]] += item[amount_key]
        totals = {key: currency.round(amount) for key, amount in totals.items()}
        totals["total"] = currency.round(sum(item[amount_key] for item in items))
        return totals

    @api.model
    def _statements(self, partners, company=None, date=None):
        """The statement of each customer: ``{commercial partner id: {...}}``
        with its items, its totals by age in the company's currency
        (``totals``) and per invoice currency (``currency_totals``), and the
        bucket labels in the customer's language."""
        company = company or self.env.company
        date = date or fields.Date.context_today(self)
        partners = partners.commercial_partner_id
        items_by_partner = self._open_items(partners, company, date)
        base_url = company.get_base_url()
        labels_by_lang = {}
        statements = {}
        for partner in partners:
            lang = partner.lang or self.env.lang
            if lang not in labels_by_lang:
                labels_by_lang[lang] = self.with_context(
                    lang=lang
                )._aging_bucket_labels()
            items = items_by_partner.get(partner, [])
            by_currency = defaultdict(list)
            for item in items:
                by_currency[item["currency"]].append(item)
            statements[partner.id] = {
                "partner": partner,
                "company": company,
                "currency": company.currency_id,
                "date": date,
                "items": items,
                "buckets": list(labels_by_lang[lang].items()),
                "totals": self._aging_totals(items, company.currency_id, "amount"),
                "currency_totals": [
                    {
                        "currency": currency,
                        "totals": self._aging_totals(
                            currency_items, currency, "amount_currency"
                        ),
                    }
                    for currency, currency_items in sorted(
                        by_currency.items(), key=lambda pair: pair[0].name
                    )
                ],
                "foreign": any(c != company.currency_id for c in by_currency),
                "url": self._statement_url(partner, base_url),
            }
        return statements

    @api.model
    def _statement_url(self, partner, base_url):
        """Where the statement's reference points: the customer's invoices in
        the portal. It also marks the first page of each statement in a PDF
        of several."""
        return f"{base_url}/my/invoices#statement-{partner.id}"

    # === PDF === #

    @api.model
    def _statement_filename(self, partner):
        return self.env._(
            "Statement %(customer)s.pdf",
            customer=(partner.name or "").replace("/", "_"),
        )

    @api.model
    def _render_statement_pdfs(self, partners, company):
        """One PDF statement per customer in ``company``: ``{commercial
        partner id: PDF bytes}``, converted in one wkhtmltopdf run and split
        per customer (one run per customer if it cannot be split)."""
        partners = partners.commercial_partner_id
        Report = self.env["ir.actions.report"]
        report = self.env.ref(STATEMENT_REPORT).with_context(debug=False)
        data = {"company_id": company.id}
        in_test = modules.module.current_test or tools.config["test_enable"]
        pdfs = {}
        if len(partners) > 1 and (
            self.env.context.get("force_report_rendering") or not in_test
        ):
            Letters = self.env["report.kpulse_dunning.report_dunning_letter"]
            job = Letters._letters_html(partners, report, data)
            pdf = Letters._convert_letters(report, [job])[0]
            base_url = company.get_base_url()
            parts = Letters._split_pdf(
                pdf, [self._statement_url(partner, base_url) for partner in partners]
            )
            if parts:
                pdfs.update(zip(partners.ids, parts, strict=True))
        for partner in partners.filtered(lambda p: p.id not in pdfs):
            pdfs[partner.id] = Report._render_qweb_pdf(report, partner.ids, data=data)[
                0
            ]
        return pdfs

    @api.model
    def _reminder_statement_files(self, dunnings):
        """``{reminder id: (file name, PDF)}`` for the reminders whose
        template attaches the customer's statement (the reminder's company's).
        A customer with several reminders in the batch gets one statement."""
        dunnings = dunnings.filtered("template_id.attach_statement")
        files = {}
        for company, batch in dunnings.grouped("company_id").items():
            pdfs = self._render_statement_pdfs(batch.partner_id, company)
            for dunning in batch:
                partner = dunning.partner_id.commercial_partner_id
                files[dunning.id] = (
                    self.with_context(
                        lang=partner.lang or self.env.lang
                    )._statement_filename(partner),
                    pdfs[partner.id],
                )
        return files
