import { registry } from "@web/core/registry";

// A customer's portal user: My Reminders, the reminder, its invoices, Pay now.
registry.category("web_tour.tours").add("kpulse_dunning_portal_tour", {
    url: "/my",
    steps: () => [
        {
            content: "My Reminders is in the customer's portal",
            trigger: ".o_portal_index_card a[href='/my/reminders']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Open the reminder awaiting payment",
            trigger: ".o_portal_my_doc_table tr:contains(Awaiting Payment) a[href^='/my/reminders/']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The reminder: its reference, level and amount due",
            trigger: "#reminder_content:contains(First reminder)",
        },
        {
            trigger: ".o_portal_sidebar_content:contains(1,000.00):contains(Amount Due)",
        },
        {
            content: "The letter can be downloaded",
            trigger: "a.o_kpulse_letter_download[href*='report_type=pdf']",
        },
        {
            content: "Both invoices are listed with what is due",
            trigger: ".o_kpulse_portal_invoice:contains(400.00)",
        },
        {
            trigger: ".o_kpulse_portal_invoice:contains(600.00)",
        },
        {
            content: "Pay now: Odoo's payment of the invoice",
            trigger: ".o_kpulse_portal_invoice:contains(400.00) a.o_kpulse_pay_now[href*='/my/invoices/']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The invoice's portal page, with its payment",
            trigger: ".o_portal_invoice_sidebar:has(#portal_pay)",
        },
    ],
});
