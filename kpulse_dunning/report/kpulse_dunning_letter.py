import io
import logging
import os
import subprocess
import tempfile
from contextlib import ExitStack

from odoo import api, models, modules, tools
from odoo.exceptions import UserError
from odoo.tools.pdf import PdfFileReader, PdfFileWriter, merge_pdf

from odoo.addons.base.models.ir_actions_report import _wkhtml

_logger = logging.getLogger(__name__)

LETTER_REPORT = "kpulse_dunning.action_report_dunning_letter"
# Below this many letters per run, a second wkhtmltopdf is not worth starting.
PARALLEL_MIN_LETTERS = 40


class ReportKpulseDunningLetter(models.AbstractModel):
    """The letter report, and the engine that prints letters by the hundred.

    Debian's wkhtmltopdf refuses several documents in one call, and every
    call costs a start (and ``report.print_delay`` when an administrator
    sets one: see ``ir.actions.report._kpulse_without_script_delay``):
    letters are rendered as one HTML document per chunk, converted in one
    run, and the PDF is split back per reminder. In a background job, chunks
    are converted by one wkhtmltopdf process per core at once; inside a
    request, one run at a time.
    """

    _name = "report.kpulse_dunning.report_dunning_letter"
    _description = "Payment Reminder Letter"

    @api.model
    def _get_report_values(self, docids, data=None):
        docs = self.env["kpulse.dunning"].browse(docids)
        given = (data or {}).get("letter_bodies")
        # The engine gives the bodies it rendered for the whole batch; a
        # chunk of it uses its own. Anything else is rendered here.
        if isinstance(given, dict) and set(docs.ids) <= set(given):
            letter_bodies = {doc_id: given[doc_id] for doc_id in docs.ids}
        else:
            letter_bodies = self.env["kpulse.dunning.send"]._render_letter_bodies(docs)
        return {
            "doc_ids": docids,
            "doc_model": "kpulse.dunning",
            "docs": docs,
            "letter_bodies": letter_bodies,
        }

    # === PDF ENGINE === #

    @api.model
    def _render_letter_pdfs(self, dunnings, letters=None, workers=1):
        """One PDF letter per reminder: ``{reminder id: PDF bytes}``.

        :param dict letters: the letter bodies already rendered, by id.
        :param int workers: wkhtmltopdf processes to run at once; more than
            one only from a background job (never inside a request).
        """
        Report = self.env["ir.actions.report"]
        report = self.env.ref(LETTER_REPORT).with_context(debug=False)
        data = {"letter_bodies": letters} if letters else None
        in_test = modules.module.current_test or tools.config["test_enable"]
        pdfs = {}
        if len(dunnings) > 1 and (
            self.env.context.get("force_report_rendering") or not in_test
        ):
            chunks = self._letter_chunks(dunnings, workers)
            jobs = [self._letters_html(chunk, report, data) for chunk in chunks]
            for chunk, pdf in zip(
                chunks, self._convert_letters(report, jobs), strict=True
            ):
                parts = self._split_letters_pdf(chunk, pdf)
                if parts:
                    pdfs.update(zip(chunk.ids, parts, strict=True))
                else:
                    _logger.info(
                        "Letters could not be split; rendering them one by one."
                    )
        for dunning in dunnings.filtered(lambda d: d.id not in pdfs):
            pdfs[dunning.id] = Report._render_qweb_pdf(report, dunning.ids, data=data)[
                0
            ]
        return pdfs

    @api.model
    def _render_letters_document(self, dunnings, workers=1):
        """All the letters of ``dunnings`` as one PDF, in their order.

        What a print run needs: the converted chunks are joined as they come,
        never cut per reminder and merged back (that round trip through
        PyPDF2 cost more than the conversion itself).

        :param int workers: as for :meth:`_render_letter_pdfs`.
        """
        if not dunnings:
            return b""
        report = self.env.ref(LETTER_REPORT).with_context(debug=False)
        in_test = modules.module.current_test or tools.config["test_enable"]
        if len(dunnings) == 1 or (
            in_test and not self.env.context.get("force_report_rendering")
        ):
            # One letter, or tests without real rendering: Odoo's own path.
            return self.env["ir.actions.report"]._render_qweb_pdf(report, dunnings.ids)[
                0
            ]
        chunks = self._letter_chunks(dunnings, workers)
        jobs = [self._letters_html(chunk, report, None) for chunk in chunks]
        pdfs = self._convert_letters(report, jobs)
        return pdfs[0] if len(pdfs) == 1 else merge_pdf(pdfs)

    @api.model
    def _letter_chunks(self, dunnings, workers):
        """Contiguous chunks, one per worker, none under PARALLEL_MIN_LETTERS."""
        count = max(1, min(workers, len(dunnings) // PARALLEL_MIN_LETTERS))
        size = -(-len(dunnings) // count)
        return [
            dunnings[start : start + size] for start in range(0, len(dunnings), size)
        ]

    @api.model
    def _letters_html(self, dunnings, report, data):
        """The arguments of one wkhtmltopdf run for these letters."""
        html = self.env["ir.actions.report"]._render_qweb_html(
            report, dunnings.ids, data=data
        )[0]
        bodies, _ids, header, footer, paper_args = report._prepare_html(
            html, report_model=dunnings._name
        )
        return {
            "bodies": bodies,
            "header": header,
            "footer": footer,
            "specific_paperformat_args": paper_args,
        }

    @api.model
    def _convert_letters(self, report, jobs):
        """Run wkhtmltopdf on each job: through Odoo for one, as parallel
        processes for several (no thread, no cursor: the arguments are
        prepared here, the processes only read files)."""
        if len(jobs) == 1:
            return [
                self.env["ir.actions.report"]._run_wkhtmltopdf(
                    report_ref=report, **jobs[0]
                )
            ]
        paperformat = report.get_paperformat()
        letter_report = report.with_context(kpulse_letter_pdf=True)
        with ExitStack() as stack:
            runs = []
            for job in jobs:
                args = letter_report._build_wkhtmltopdf_args(
                    paperformat,
                    False,
                    specific_paperformat_args=job["specific_paperformat_args"],
                )
                paths = [
                    self._temp_file(stack, body, ".html") for body in job["bodies"]
                ]
                output = self._temp_file(stack, "", ".pdf")
                process = subprocess.Popen(  # noqa: S603 (fixed binary, own files)
                    [_wkhtml().bin, *args, *paths, output],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                runs.append((process, output))
            pdfs = []
            for process, output in runs:
                _out, err = process.communicate()
                if process.returncode not in (0, 1):
                    raise UserError(
                        self.env._(
                            "Wkhtmltopdf failed (error code: %(code)s). "
                            "Message: %(message)s",
                            code=process.returncode,
                            message=err.decode(errors="replace")[-1000:],
                        )
                    )
                with open(output, "rb") as pdf:
                    pdfs.append(pdf.read())
        return pdfs

    @api.model
    def _temp_file(self, stack, content, suffix):
        handle, path = tempfile.mkstemp(suffix=suffix, prefix="kpulse.letters.")
        stack.callback(os.unlink, path)
        with os.fdopen(handle, "wb") as file:
            file.write(content.encode())
        return path

    @api.model
    def _split_letters_pdf(self, dunnings, pdf):
        """Cut the PDF of all letters into one PDF per reminder, or None.

        A letter starts on the page holding the link of its reference (the
        PDF text itself is not extractable from Debian's wkhtmltopdf).
        """
        return self._split_pdf(
            pdf, [dunning._letter_portal_url() for dunning in dunnings]
        )

    @api.model
    def _split_pdf(self, pdf, urls):
        """Cut a PDF of several documents into one PDF per document, or None:
        each document starts on the first page linking to its URL in
        ``urls`` (or each is one page). The customer statements use it too.
        """
        reader = PdfFileReader(io.BytesIO(pdf))
        page_count = reader.numPages
        if page_count == len(urls):
            starts = list(range(page_count))
        else:
            first_page = {}
            for page_number in range(page_count):
                for annotation in reader.getPage(page_number).get("/Annots") or []:
                    uri = annotation.getObject().get("/A", {}).get("/URI") or ""
                    first_page.setdefault(uri, page_number)
            starts = [first_page.get(url) for url in urls]
            if None in starts or starts[0] != 0 or starts != sorted(set(starts)):
                return None
        parts = []
        for index, first in enumerate(starts):
            last = starts[index + 1] if index + 1 < len(starts) else page_count
            writer = PdfFileWriter()
            for page_number in range(first, last):
                writer.addPage(reader.getPage(page_number))
            stream = io.BytesIO()
            writer.write(stream)
            parts.append(stream.getvalue())
        return parts
