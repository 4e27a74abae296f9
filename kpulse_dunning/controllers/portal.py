from urllib.parse import urlencode

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.fields import Domain
from odoo.http import content_disposition, request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager


class KpulseDunningPortal(CustomerPortal):
    """*My reminders* in the customer portal.

    A reminder's page opens with its access token (the links of its e-mail
    and letter) or for the customer's own portal users (the portal record
    rule); which reminders a customer sees is the reminder's
    ``_portal_domain``. Only pages here, no business rule.
    """

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "kpulse_reminder_count" in counters:
            Dunning = request.env["kpulse.dunning"]
            values["kpulse_reminder_count"] = (
                Dunning.search_count(self._kpulse_reminders_domain(), limit=1)
                if Dunning.has_access("read")
                else 0
            )
        return values

    # === MY REMINDERS === #

    def _kpulse_reminders_domain(self):
        """The reminders sent to the user's own company (or to themself)."""
        partner = request.env.user.commercial_partner_id
        return request.env["kpulse.dunning"]._portal_domain() & Domain(
            "partner_id", "child_of", partner.id
        )

    def _kpulse_reminder_sortings(self):
        return {
            "date": {"label": request.env._("Newest"), "order": "date desc, id desc"},
            "name": {"label": request.env._("Reference"), "order": "name desc"},
        }

    @http.route(
        ["/my/reminders", "/my/reminders/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_reminders(self, page=1, sortby=None, **kw):
        values = self._prepare_portal_layout_values()
        Dunning = request.env["kpulse.dunning"]
        sortings = self._kpulse_reminder_sortings()
        if sortby not in sortings:
            sortby = "date"
        readable = Dunning.has_access("read")
        domain = self._kpulse_reminders_domain()
        pager = portal_pager(
            url="/my/reminders",
            url_args={"sortby": sortby},
            total=Dunning.search_count(domain) if readable else 0,
            page=page,
            step=self._items_per_page,
        )
        reminders = Dunning
        if readable:
            reminders = Dunning.search(
                domain,
                order=sortings[sortby]["order"],
                limit=self._items_per_page,
                offset=pager["offset"],
            )
        request.session["my_reminders_history"] = reminders.ids[:100]
        values.update(
            {
                # sudo: these reminders were searched with the user's own
                # rights (their own company's reminders); sudo only shows
                # their levels, which portal users may not read.
                "reminders": reminders.sudo(),
                "page_name": "kpulse_reminder",
                "pager": pager,
                "default_url": "/my/reminders",
                "searchbar_sortings": sortings,
                "sortby": sortby,
            }
        )
        return request.render("kpulse_dunning.portal_my_reminders", values)

    @http.route(
        ["/my/reminders/<int:reminder_id>"], type="http", auth="public", website=True
    )
    def portal_my_reminder(
        self, reminder_id, access_token=None, report_type=None, download=False, **kw
    ):
        try:
            reminder_sudo = self._kpulse_reminder_check_access(
                reminder_id, access_token
            )
        except (AccessError, MissingError):
            if request.env.user._is_public():
                # A link without its token: the customer logs in, then comes
                # back here.
                return request.redirect_query(
                    "/web/login", {"redirect": f"/my/reminders/{reminder_id}"}
                )
            # Another customer's reminder (or none): nothing is said of it.
            raise request.not_found() from None
        if report_type == "pdf":
            return self._kpulse_letter_response(reminder_sudo, download)
        values = self._kpulse_reminder_page_values(reminder_sudo, access_token, **kw)
        return request.render("kpulse_dunning.portal_my_reminder", values)

    def _kpulse_reminder_check_access(self, reminder_id, access_token):
        """The reminder, as superuser, if the visitor may see it: with its
        access token or their own rights (the portal record rule: their own
        company's reminders), and only once it was sent.

        :raise AccessError: neither the token nor the visitor's rights allow it
        :raise MissingError: no such reminder, or none the customer sees
        """
        reminder_sudo = self._document_check_access(
            "kpulse.dunning", reminder_id, access_token
        )
        if not reminder_sudo.filtered_domain(reminder_sudo._portal_domain()):
            raise MissingError(request.env._("This reminder does not exist."))
        return reminder_sudo

    def _kpulse_reminder_page_values(self, reminder_sudo, access_token, **kwargs):
        invoices_sudo = reminder_sudo.line_ids.move_id
        # The invoices' links carry their tokens, given when the reminder was
        # sent: this gives, in one query, only those still missing, so that
        # no link writes while the page renders.
        invoices_sudo._kpulse_ensure_access_tokens()
        # The page's own links keep the visitor's token (never a new one).
        letter_query = {"report_type": "pdf", "download": "true"}
        if access_token:
            letter_query["access_token"] = access_token
        values = {
            "page_name": "kpulse_reminder",
            "reminder": reminder_sudo,
            "letter_url": f"{reminder_sudo.access_url}?{urlencode(letter_query)}",
            "invoices": [self._kpulse_invoice_values(inv) for inv in invoices_sudo],
        }
        return self._get_page_view_values(
            reminder_sudo, access_token, values, "my_reminders_history", False, **kwargs
        )

    def _kpulse_invoice_values(self, invoice_sudo):
        """An invoice of the reminder with Odoo's own *Pay now*: the invoice
        portal's payment form (``account_payment``, when it is installed and
        online payment is enabled); else the link to the invoice."""
        can_pay = (
            hasattr(invoice_sudo, "_has_to_be_paid") and invoice_sudo._has_to_be_paid()
        )
        return {
            "invoice": invoice_sudo,
            "view_url": invoice_sudo.get_portal_url(),
            "pay_url": can_pay
            and invoice_sudo.get_portal_url(
                anchor="portal_pay", query_string="&payment=True"
            ),
        }

    def _kpulse_letter_response(self, reminder_sudo, download):
        # reminder_sudo: the visitor's access was checked above; the letter is
        # read (or rendered) as superuser, as the portal serves invoice PDFs.
        pdf = reminder_sudo.with_company(reminder_sudo.company_id)._portal_letter_pdf()
        disposition = "attachment" if download else "inline"
        headers = [
            ("Content-Type", "application/pdf"),
            ("Content-Length", len(pdf)),
            (
                "Content-Disposition",
                content_disposition(
                    reminder_sudo._letter_filename(), disposition_type=disposition
                ),
            ),
        ]
        return request.make_response(pdf, headers)
