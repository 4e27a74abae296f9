import { registry } from "@web/core/registry";

// A customer answered a reminder: find it, read the answer, mark it handled.
registry.category("web_tour.tours").add("kpulse_dunning_reply_tour", {
    url: "/odoo/action-kpulse_dunning.kpulse_dunning_action",
    steps: () => [
        {
            content: "The reminders are listed",
            trigger: ".o_data_row:contains(Tour Reply Customer)",
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_input",
            run: "click",
        },
        {
            content: "Keep the reminders the customers replied to",
            trigger: ".o_filter_menu .dropdown-item:contains(Replied)",
            run: "click",
        },
        {
            content: "Open the answered reminder",
            trigger: ".o_data_row:contains(Tour Reply Customer) td[name=partner_id]",
            run: "click",
        },
        {
            content: "The form says the customer replied",
            trigger: ".o_form_view .alert:contains(The customer replied to this reminder)",
        },
        {
            content: "The answer is in the chatter",
            // An e-mail's body is drawn in a shadow root of its message.
            trigger:
                ".o-mail-Message-body .overflow-x-auto:shadow span:contains(The invoice was paid on Friday)",
        },
        {
            content: "Mark the reply handled",
            trigger: "button[name=action_reply_handled]",
            run: "click",
        },
        {
            content: "The user is told automatic reminders resume",
            trigger: ".o_notification:contains(automatic reminders resume)",
        },
        {
            content: "The reply is no longer pending",
            trigger: ".o_form_view:not(:has(button[name=action_reply_handled]))",
        },
    ],
});
