import { registry } from "@web/core/registry";

// Record a promise to pay from a reminder, as a billing user.
const promisedDate = luxon.DateTime.now().plus({ days: 7 }).toFormat("MM/dd/yyyy");

registry.category("web_tour.tours").add("kpulse_dunning_promise_tour", {
    url: "/odoo/action-kpulse_dunning.kpulse_dunning_action",
    steps: () => [
        {
            content: "Open the customer's reminder",
            trigger: ".o_data_row:contains(Tour Promise) td[name=partner_id]",
            run: "click",
        },
        {
            content: "Promise to Pay",
            trigger: "button[name=action_promise_to_pay]",
            run: "click",
        },
        {
            content: "The amount due is proposed",
            trigger: ".modal .o_field_widget[name=amount] input:value(640.00)",
        },
        {
            content: "Promised date",
            trigger: ".modal .o_field_widget[name=date] input",
            run: `edit ${promisedDate}`,
        },
        {
            content: "Promised amount",
            trigger: ".modal .o_field_widget[name=amount] input",
            run: "edit 400",
        },
        {
            content: "What the customer said",
            trigger: ".modal .o_field_widget[name=note] textarea",
            run: "edit Will pay by transfer",
        },
        {
            content: "Save",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The reminder shows the promise",
            trigger: ".o_form_view .alert-info:contains(Promised to pay)",
        },
        {
            content: "Open the customer's promises",
            trigger: "button[name=action_open_promises]",
            run: "click",
        },
        {
            content: "The promise is listed, running",
            trigger: ".o_data_row:contains(Tour Promise) td[name=state]:contains(Running)",
        },
        {
            trigger: ".o_data_row:contains(Tour Promise) td[name=amount]:contains(400.00)",
        },
    ],
});
