import { registry } from "@web/core/registry";

// Dispute an invoice from its form, find it in the disputes, resolve it.
registry.category("web_tour.tours").add("kpulse_dunning_dispute_tour", {
    steps: () => [
        {
            content: "Dispute the invoice",
            trigger: ".o_form_view .o_form_statusbar button[name=action_kpulse_dispute]",
            run: "click",
        },
        {
            content: "Choose the reason",
            trigger: ".modal .o_field_widget[name=reason_id] input",
            run: "edit Not deliv",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Not delivered)",
            run: "click",
        },
        {
            content: "Say what the customer says",
            trigger: ".modal .o_field_widget[name=note] textarea",
            run: "edit Goods never received",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The invoice shows it is under dispute",
            trigger: ".o_form_view [name=kpulse_dispute_banner]:contains(Not delivered)",
        },
        {
            content: "Open its disputes",
            trigger: ".o_form_view button[name=action_kpulse_open_disputes]",
            run: "click",
        },
        {
            content: "The dispute is listed, open",
            trigger:
                ".o_list_view .o_data_row:contains(Dispute Tour Customer):contains(Not delivered) td[name=state]:contains(Open)",
            run: "click",
        },
        {
            content: "Resolve it",
            trigger: ".o_form_view button[name=action_resolve]",
            run: "click",
        },
        {
            content: "It is resolved",
            trigger: ".o_form_view .o_statusbar_status button[aria-checked=true]:contains(Resolved)",
        },
    ],
});
