import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// Reminder Analysis: the aging, in list then pivot, then the reminders.
registry.category("web_tour.tours").add("kpulse_dunning_analysis_tour", {
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open the Sales app"),
        {
            content: "Open the analysis menu",
            trigger:
                '.o_main_navbar [data-menu-xmlid="kpulse_dunning.kpulse_dunning_analysis_menu"]',
            run: "click",
        },
        {
            content: "Open the aging",
            trigger: '.dropdown-item[data-menu-xmlid="kpulse_dunning.kpulse_receivable_aging_menu"]',
            run: "click",
        },
        {
            content: "The aging lists the customer, grouped",
            trigger: ".o_list_view .o_group_name:contains(Tour Aging Customer)",
        },
        {
            content: "Switch to pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot shows the customer by age",
            trigger: ".o_pivot th:contains(Tour Aging Customer)",
        },
        {
            trigger: ".o_pivot th:contains(31–60 days)",
        },
        {
            content: "Open the analysis menu again",
            trigger:
                '.o_main_navbar [data-menu-xmlid="kpulse_dunning.kpulse_dunning_analysis_menu"]',
            run: "click",
        },
        {
            content: "Open the reminders analysis",
            trigger:
                '.dropdown-item[data-menu-xmlid="kpulse_dunning.kpulse_dunning_analysis_menu_reminders"]',
            run: "click",
        },
        {
            content: "The pivot shows the reminders by level",
            trigger: ".o_pivot th:contains(First reminder)",
        },
        {
            trigger: ".o_pivot th:contains(Paid within 30 days (%))",
        },
    ],
});
