import { registry } from "@web/core/registry";

// Send many reminders at once: they are queued, not sent in the request.
registry.category("web_tour.tours").add("kpulse_dunning_queue_tour", {
    url: "/odoo/action-kpulse_dunning.kpulse_dunning_action",
    steps: () => [
        {
            content: "The reminders to send are listed",
            trigger: ".o_data_row:contains(Queue Customer)",
        },
        {
            content: "Select them all",
            trigger: "thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Send by e-mail",
            trigger: "button[name=action_send]",
            run: "click",
        },
        {
            content: "The user is told they are queued",
            trigger: ".o_notification:contains(queued)",
        },
        {
            content: "The list shows them queued",
            trigger: ".o_data_row:contains(Queue Customer) td[name=run_id]:contains(reminder)",
        },
        {
            content: "The Queued filter finds them",
            trigger: ".o_searchview_input",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .dropdown-item:contains(Queued)",
            run: "click",
        },
        {
            trigger: ".o_control_panel .o_pager_limit:contains(4)",
        },
    ],
});

// After the cron: the same reminders are sent.
registry.category("web_tour.tours").add("kpulse_dunning_queue_done_tour", {
    url: "/odoo/action-kpulse_dunning.kpulse_dunning_action",
    steps: () => [
        {
            content: "Every reminder of the run is sent",
            trigger: ".o_data_row:contains(Queue Customer) td[name=state]:contains(Sent)",
        },
        {
            trigger: "body:not(:has(.o_data_row:contains(Queue Customer) td[name=state]:contains(To Send)))",
        },
    ],
});
