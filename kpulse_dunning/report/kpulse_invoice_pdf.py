import io
import logging

import lxml.html

from odoo import api, models, modules, tools
from odoo.tools.pdf import ArrayObject, NameObject, PdfFileReader, PdfFileWriter

_logger = logging.getLogger(__name__)

# Each invoice of a batch document starts on the page holding a link to this
# address (a reserved domain, never fetched); the link is removed from the
# invoice's PDF once the document is split.
SPLIT_MARKER_URL = "https://kpulse-split.invalid/account.move/{}"
ARTICLE_XPATH = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' article ')]"
)


class _InvoiceBodies(Exception):  # noqa: N818 (not an error: a hand-over)
    """Carries the wkhtmltopdf arguments Odoo's report engine prepared for
    several invoices out of ``_render_qweb_pdf_prepare_streams``, before the
    conversion Debian's wkhtmltopdf would refuse (see ir.actions.report)."""

    def __init__(self, job):
        super().__init__("invoice bodies collected")
        self.job = job


def _body_move_ids(bodies):
    """The invoice of each body Odoo's ``_prepare_html`` made (None when a
    body holds no invoice)."""
    ids = []
    for body in bodies:
        articles = lxml.html.document_fromstring(body).xpath(ARTICLE_XPATH)
        article = articles[0] if articles else None
        if article is not None and article.get("data-oe-model") == "account.move":
            ids.append(int(article.get("data-oe-id") or 0) or None)
        else:
            ids.append(None)
    return ids


class KpulseDunningInvoicePdf(models.AbstractModel):
    """The invoice PDFs a reminder attaches, at the speed of the letters.

    An invoice Odoo has already sent keeps its PDF (``invoice_pdf_report_id``):
    it is attached as it is. The others are rendered through Odoo's own
    invoice report, in chunks (one wkhtmltopdf run for many invoices, the
    chunks in parallel as the letters: report/kpulse_dunning_letter.py), and
    stored on the invoice as Odoo's sending stores them, so that the next
    reminder and Odoo's own *Send* reuse them.

    How a chunk is converted, and what stays Odoo's:

    - the HTML is Odoo's: the report engine prepares the invoices' bodies
      (``_pre_render_qweb_pdf``, with its checks and data) and hands them over
      just before its own wkhtmltopdf call, which Debian's wkhtmltopdf would
      refuse for several documents;
    - the bodies are joined into one document, each invoice on a new page
      with an invisible link marking its first page, converted in one run
      and cut back per invoice (the links are removed);
    - each invoice's pages then go through Odoo's report engine for that
      invoice alone, its converted pages standing in for its wkhtmltopdf
      run: every post-processing of the invoice report
      (``_render_qweb_pdf_prepare_streams`` overrides, such as embedded EDI
      documents) applies as when one invoice is printed;
    - then, as ``account.move.send`` does: its hooks before and after the
      PDF (Factur-X embedded by ``account_edi_ubl_cii``, UBL files) and
      ``_link_invoice_documents``, which stores the PDF as the invoice's
      ``invoice_pdf_report_id``. Not the web services (Peppol, tax
      authorities): a reminder transmits nothing.

    Invoices whose chunk cannot be split are rendered one by one by Odoo.
    Everything happens in the engine's transaction: a batch rolled back
    stores nothing.
    """

    _name = "kpulse.dunning.invoice.pdf"
    _description = "Payment Reminder Invoice PDFs"

    @api.model
    def _invoice_pdfs(self, moves, workers=1):
        """The PDF of each invoice: ``{invoice: (file name, PDF bytes)}``.

        :param int workers: wkhtmltopdf processes to run at once; more than
            one only from a background job (as for the letters).
        """
        pdfs = {}
        stored = moves.filtered("invoice_pdf_report_id")
        for move in stored:
            attachment = move.invoice_pdf_report_id
            pdfs[move] = (attachment.name, attachment.raw)
        missing = moves - stored
        if missing:
            for move_id, pair in self._render_and_store(missing, workers).items():
                pdfs[moves.browse(move_id)] = pair
        return pdfs

    # === AS ACCOUNT.MOVE.SEND === #

    @api.model
    def _render_and_store(self, moves, workers=1):
        """Render the PDFs of ``moves`` (none stored yet) and store those
        Odoo's sending would store: ``{invoice id: (file name, PDF bytes)}``.
        """
        Send = self.env["account.move.send"]
        # sudo, as account.move.send processes the invoices it sends; the
        # user's right to send these reminders, and so their invoices, was
        # checked when they were sent or queued (and they are locked).
        invoices_data = {}
        for move in moves.sudo():
            sending_methods = Send._get_default_sending_methods(move)
            invoices_data[move] = {
                "pdf_report": Send._get_default_pdf_report_id(move),
                "sending_methods": sending_methods,
                "extra_edis": Send._get_default_extra_edis(move),
                "invoice_edi_format": Send._get_default_invoice_edi_format(
                    move, sending_methods=sending_methods
                ),
                "author_user_id": self.env.uid,
                "author_partner_id": self.env.user.partner_id.id,
            }
        # Odoo stores the PDF of posted sale documents only.
        storable = [
            move for move in invoices_data if not Send._get_move_constraints(move)
        ]
        for move in storable:
            Send._hook_invoice_document_before_pdf_report_render(
                move, invoices_data[move]
            )
        contents = self._render_invoice_contents(invoices_data, workers)
        pdfs = {}
        to_link = {}
        for move, invoice_data in invoices_data.items():
            name = move._get_invoice_report_filename(report=invoice_data["pdf_report"])
            if move in storable and not invoice_data.get("error"):
                invoice_data["pdf_attachment_values"] = {
                    "name": name,
                    "raw": contents[move.id],
                    "mimetype": "application/pdf",
                    "res_model": move._name,
                    "res_id": move.id,
                    "res_field": "invoice_pdf_report_file",
                }
                Send._hook_invoice_document_after_pdf_report_render(move, invoice_data)
                to_link[move] = invoice_data
                pdfs[move.id] = (name, invoice_data["pdf_attachment_values"]["raw"])
            else:
                # An EDI error (Odoo's sending would stop there): the
                # invoice is attached as printed, not stored.
                pdfs[move.id] = (name, contents[move.id])
        if to_link:
            Send._link_invoice_documents(to_link)
        return pdfs

    # === RENDERING === #

    @api.model
    def _render_invoice_contents(self, invoices_data, workers=1):
        """``{invoice id: PDF bytes}``, each with its report, in its company."""
        in_test = modules.module.current_test or tools.config["test_enable"]
        batch = self.env.context.get("force_report_rendering") or not in_test
        groups = {}
        for move, invoice_data in invoices_data.items():
            key = (move.company_id, invoice_data["pdf_report"])
            groups[key] = groups.get(key, move.browse()) | move
        contents = {}
        for (company, report), moves in groups.items():
            Report = self.env["ir.actions.report"].with_company(company)
            moves = moves.with_env(self.env)
            if not batch:
                # Tests without rendering: Odoo's HTML, as Odoo's own sending.
                contents.update(self._render_by_odoo(Report, report, moves))
            elif len(moves) == 1:
                contents.update(self._render_by_odoo(Report, report, moves))
            else:
                contents.update(self._render_in_chunks(Report, report, moves, workers))
        return contents

    @api.model
    def _render_by_odoo(self, Report, report, moves):
        """Odoo's own rendering, as ``account.move.send`` calls it."""
        content, report_type = Report._pre_render_qweb_pdf(
            report.report_name, res_ids=moves.ids
        )
        return Report._get_splitted_report(report.report_name, content, report_type)

    @api.model
    def _render_in_chunks(self, Report, report, moves, workers):
        """One wkhtmltopdf run per chunk of invoices, the chunks in parallel,
        then Odoo's post-processing per invoice."""
        Letters = self.env["report.kpulse_dunning.report_dunning_letter"]
        report = report.with_context(debug=False)
        jobs = []
        job_ids = []
        for chunk in Letters._letter_chunks(moves, workers):
            collected = self._collect_invoice_bodies(Report, report, chunk)
            if collected:
                for ids, job in self._invoice_documents(collected):
                    job_ids.append(ids)
                    jobs.append(job)
        pages = {}
        if jobs:
            for ids, pdf in zip(
                job_ids, Letters._convert_letters(report, jobs), strict=True
            ):
                parts = self._split_invoices_pdf(pdf, ids)
                if parts:
                    pages.update(parts)
                else:
                    _logger.info(
                        "Invoices could not be split; rendering them one by one."
                    )
        contents = {}
        for move in moves:
            if move.id in pages:
                # Odoo's report engine for this invoice alone: its pages
                # stand in for its wkhtmltopdf run (see ir.actions.report).
                converted = Report.with_context(
                    kpulse_invoice_pdf_ready=(report.id, move.id, pages[move.id])
                )
                contents.update(self._render_by_odoo(converted, report, move))
            else:
                contents.update(self._render_by_odoo(Report, report, move))
        return contents

    @api.model
    def _collect_invoice_bodies(self, Report, report, moves):
        """The wkhtmltopdf arguments Odoo's report engine prepares for
        ``moves``, or None (nothing to convert)."""
        try:
            Report.with_context(
                kpulse_invoice_pdf_collect=report.id
            )._pre_render_qweb_pdf(report.report_name, res_ids=moves.ids)
        except _InvoiceBodies as collected:
            return collected.job
        return None

    @api.model
    def _invoice_documents(self, collected):
        """Join the invoices' bodies into documents of one wkhtmltopdf run
        each: ``[(invoice ids, job)]``, a job as the letters' conversion takes
        it. Bodies are joined when they share their page (head, body
        attributes: the language's direction); a body without an invoice is
        left out (its invoice is then rendered on its own)."""
        documents = {}
        for body in collected["bodies"]:
            root = lxml.html.document_fromstring(body)
            articles = root.xpath(ARTICLE_XPATH)
            if not articles or articles[0].get("data-oe-model") != "account.move":
                continue
            move_id = int(articles[0].get("data-oe-id") or 0)
            if not move_id:
                continue
            head = root.find("head")
            page = root.find("body")
            key = (
                lxml.html.tostring(head) if head is not None else b"",
                tuple(sorted(root.attrib.items())),
                tuple(sorted(page.attrib.items())),
            )
            articles[0].insert(0, self._split_marker(move_id))
            document = documents.get(key)
            if document is None:
                document = documents[key] = {"root": root, "body": page, "ids": []}
            else:
                # A new page for each invoice after the first; the inline
                # style holds even if the report CSS fails to load.
                articles[0].set(
                    "style",
                    "page-break-before: always; " + (articles[0].get("style") or ""),
                )
                for node in list(page):
                    document["body"].append(node)
            document["ids"].append(move_id)
        return [
            (
                document["ids"],
                {
                    "bodies": [
                        lxml.html.tostring(
                            document["root"],
                            encoding="unicode",
                            doctype="<!DOCTYPE html>",
                        )
                    ],
                    "header": collected["header"],
                    "footer": collected["footer"],
                    "specific_paperformat_args": collected["specific_paperformat_args"],
                },
            )
            for document in documents.values()
        ]

    @api.model
    def _split_marker(self, move_id):
        """An invisible link at the top of the invoice's first page: it takes
        no room (placed where it stands, out of the flow) and shows nothing."""
        marker = lxml.html.Element("a")
        marker.set("href", SPLIT_MARKER_URL.format(move_id))
        marker.set(
            "style",
            "position: absolute; font-size: 1px; line-height: 1px;"
            " color: transparent; text-decoration: none;",
        )
        marker.text = "\u00a0"
        return marker

    @api.model
    def _split_invoices_pdf(self, pdf, move_ids):
        """Cut the PDF of several invoices into ``{invoice id: PDF bytes}``,
        or None: each invoice starts on the page of its marker, which is
        removed."""
        urls = {SPLIT_MARKER_URL.format(move_id): move_id for move_id in move_ids}
        reader = PdfFileReader(io.BytesIO(pdf))
        page_count = reader.numPages
        first_page = {}
        pages = []
        for page_number in range(page_count):
            page = reader.getPage(page_number)
            annotations = page.get("/Annots")
            annotations = annotations.getObject() if annotations else []
            kept = ArrayObject()
            for annotation in annotations:
                uri = annotation.getObject().get("/A", {}).get("/URI") or ""
                if uri in urls:
                    first_page.setdefault(urls[uri], page_number)
                else:
                    kept.append(annotation)
            if len(kept) != len(annotations):
                if kept:
                    page[NameObject("/Annots")] = kept
                else:
                    del page["/Annots"]
            pages.append(page)
        starts = [first_page.get(move_id) for move_id in move_ids]
        if None in starts or starts[0] != 0 or starts != sorted(set(starts)):
            return None
        parts = {}
        for index, move_id in enumerate(move_ids):
            first = starts[index]
            last = starts[index + 1] if index + 1 < len(starts) else page_count
            writer = PdfFileWriter()
            for page in pages[first:last]:
                writer.addPage(page)
            stream = io.BytesIO()
            writer.write(stream)
            parts[move_id] = stream.getvalue()
        return parts


class IrActionsReport(models.Model):
    """Odoo's report engine, for the invoices of a reminder batch: it hands
    the prepared bodies of several invoices over instead of converting them,
    and takes an invoice's pages already converted in a batch (see
    ``kpulse.dunning.invoice.pdf``). Only inside those calls (their context
    keys); any other print is Odoo's."""

    # One concept per file: this class extends the model on purpose.
    _inherit = "ir.actions.report"  # pylint: disable=consider-merging-classes-inherited

    def _run_wkhtmltopdf(self, bodies, report_ref=False, **kwargs):
        collect = self.env.context.get("kpulse_invoice_pdf_collect")
        ready = self.env.context.get("kpulse_invoice_pdf_ready")
        if (collect or ready) and report_ref:
            report_id = self._get_report(report_ref).id
            if collect == report_id:
                raise _InvoiceBodies(
                    {
                        "bodies": list(bodies),
                        "header": kwargs.get("header"),
                        "footer": kwargs.get("footer"),
                        "specific_paperformat_args": (
                            kwargs.get("specific_paperformat_args") or {}
                        ),
                    }
                )
            if ready and ready[0] == report_id and _body_move_ids(bodies) == [ready[1]]:
                return ready[2]
        return super()._run_wkhtmltopdf(bodies, report_ref=report_ref, **kwargs)
