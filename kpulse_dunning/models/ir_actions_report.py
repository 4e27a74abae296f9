from odoo import api, models

LETTER_REPORT_NAME = "kpulse_dunning.report_dunning_letter"
# Reports that run no script either: they need no wait (see below).
SCRIPTLESS_REPORT_NAMES = (
    LETTER_REPORT_NAME,
    "kpulse_dunning.report_customer_statement",
)


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _run_wkhtmltopdf(self, bodies, report_ref=False, **kwargs):
        # The reminder letter, however it is printed: the Print menu, a send,
        # the background engine's single runs.
        report = self
        if (
            report_ref
            and self._get_report(report_ref).report_name in SCRIPTLESS_REPORT_NAMES
        ):
            report = self.with_context(kpulse_letter_pdf=True)
        return super(IrActionsReport, report)._run_wkhtmltopdf(
            bodies, report_ref=report_ref, **kwargs
        )

    def _build_wkhtmltopdf_args(
        self,
        paperformat_id,
        landscape,
        specific_paperformat_args=None,
        set_viewport_size=False,
    ):
        args = super()._build_wkhtmltopdf_args(
            paperformat_id,
            landscape,
            specific_paperformat_args=specific_paperformat_args,
            set_viewport_size=set_viewport_size,
        )
        if self.env.context.get("kpulse_letter_pdf"):
            args = self._kpulse_without_script_delay(args)
        return args

    @api.model
    def _kpulse_without_script_delay(self, args):
        """``args`` without wkhtmltopdf's wait for scripts after loading the
        page (``report.print_delay``, 1 s when the parameter is not set).

        The letter runs no script of its own: its text is sanitized HTML,
        and the scripts of Odoo's headers and footers (page numbers) run
        when the page loads, before any delay. The wait was most of the time
        of a one-letter PDF: 1.2 s, against 0.2 s without it, with the same
        pixels on every page. An administrator who set the parameter keeps
        the delay chosen.
        """
        # sudo: read as Odoo reads it for the same argument; a system
        # parameter the user printing may not read, and only read here.
        if self.env["ir.config_parameter"].sudo().get_param("report.print_delay"):
            return args
        args = list(args)
        if "--javascript-delay" in args:
            args[args.index("--javascript-delay") + 1] = "0"
        return args
