import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// The tutorial, step by step, as a billing user.
registry.category("web_tour.tours").add("kpulse_dunning_tour", {
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open the Sales app"),
        {
            content: "Open the reminders list",
            trigger: '.o_main_navbar [data-menu-xmlid="kpulse_dunning.kpulse_dunning_menu"]',
            run: "click",
        },
        {
            content: "The level side panel lists every level",
            trigger: ".o_search_panel:contains(First reminder):contains(Formal notice)",
        },
        {
            content: "New reminders",
            trigger: "button[name=action_open_new_dunnings]",
            run: "click",
        },
        {
            content: "Tick the first overdue invoice",
            trigger: ".o_data_row:contains(Tour Alpha) .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Tick the second overdue invoice",
            trigger: ".o_data_row:contains(Tour Beta) .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Create reminders",
            trigger: "button[name=action_kpulse_create_dunnings]",
            run: "click",
        },
        {
            content: "Choose the template",
            trigger: ".modal .o_field_widget[name=template_id] input",
            run: "edit Courteous",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Courteous reminder)",
            run: "click",
        },
        {
            content: "Validate",
            trigger: ".modal button[name=action_create]",
            run: "click",
        },
        {
            content: "The reminders appear under their level",
            trigger:
                ".o_data_row:contains(Tour Alpha) td[name=level_id]:contains(First reminder)",
        },
        {
            trigger: ".o_data_row:contains(Tour Beta) td[name=level_id]:contains(First reminder)",
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
            content: "They are sent",
            trigger: ".o_data_row:contains(Tour Alpha) td[name=state]:contains(Sent)",
        },
        {
            trigger: ".o_data_row:contains(Tour Beta) td[name=state]:contains(Sent)",
        },
        {
            content: "Select one reminder",
            trigger: ".o_data_row:contains(Tour Alpha) .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Escalate it",
            trigger: "button[name=action_escalate]",
            run: "click",
        },
        {
            content: "A reminder of the next level appears",
            trigger:
                ".o_data_row:contains(Tour Alpha) td[name=level_id]:contains(Second reminder)",
        },
    ],
});
