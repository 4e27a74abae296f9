import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// A billing admin writes a template with dynamic fields picked from the
// editor, previews it on an overdue invoice, saves it, then sees a broken
// template refused at save.
registry.category("web_tour.tours").add("kpulse_dunning_template_tour", {
    steps: () => [
        ...stepUtils.goToAppSteps("sale.sale_menu_root", "Open the Sales app"),
        {
            content: "Open the reminders list",
            trigger: '.o_main_navbar [data-menu-xmlid="kpulse_dunning.kpulse_dunning_menu"]',
            run: "click",
        },
        {
            content: "Manage reminder templates",
            trigger: "button[name=action_open_templates]",
            run: "click",
        },
        {
            content: "New template",
            trigger: ".o_list_view button.o_list_button_add",
            run: "click",
        },
        {
            trigger: "div[name=name] input",
            run: "edit Tour letter",
        },
        {
            content: "Choose the level",
            trigger: "div[name=level_id] input",
            run: "edit First",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(First reminder)",
            run: "click",
        },
        {
            content: "Type # in the subject to pick a dynamic field",
            trigger: "div[name=subject] input",
            run: "edit Reminder for && press #",
        },
        {
            trigger: "div.o_model_field_selector_popover_search input",
            run: "edit Contact Name",
        },
        {
            content: "A computed dynamic field of the reminder is listed",
            trigger: "div.o_model_field_selector_popover button:contains(Contact Name)",
            run: "click",
        },
        {
            trigger: "div.o_model_field_selector_popover button:contains(Insert)",
            run: "click",
        },
        {
            content: "The subject holds the placeholder",
            trigger: "div[name=subject] input",
            run() {
                const expected = "Reminder for {{object.customer_contact_name}}";
                if (this.anchor.value !== expected) {
                    throw new Error(`Subject is "${this.anchor.value}", not "${expected}"`);
                }
            },
        },
        {
            content: "Open the letter tab",
            trigger: ".o_notebook a:contains(PDF Letter)",
            run: "click",
        },
        {
            content: "Type / in the letter's editor",
            trigger: "div[name=letter_html] .odoo-editor-editable",
            async run(actions) {
                await actions.editor("/");
                this.anchor.dispatchEvent(
                    new InputEvent("input", { inputType: "insertText", data: "/" })
                );
            },
        },
        {
            content: "The editor offers dynamic fields",
            trigger: "div.o-we-powerbox .o-we-command:contains(Dynamic Placeholder)",
            run: "click",
        },
        {
            trigger: "div.o_model_field_selector_popover_search input",
            run: "edit Total Claimed",
        },
        {
            trigger: "div.o_model_field_selector_popover button:contains(Total Claimed)",
            run: "click",
        },
        {
            trigger: "div.o_model_field_selector_popover button:contains(Insert)",
            run: "click",
        },
        {
            content: "Amounts are inserted formatted in the invoices' currency",
            trigger:
                'div[name=letter_html] .odoo-editor-editable t[t-out="format_amount(object.amount_claimed, object.currency_id)"]',
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved: the preview is available",
            trigger: ".o_form_saved .o_form_statusbar button:contains(Preview)",
            run: "click",
        },
        {
            content: "Preview it on an overdue invoice",
            trigger: ".modal div[name=move_id] input",
            run: "edit Tour Gamma",
        },
        {
            trigger: ".modal .o-autocomplete--dropdown-item:contains(INV/)",
            run: "click",
        },
        {
            content: "The subject is rendered",
            trigger: ".modal div[name=subject]:contains(Reminder for Claire Gamma)",
        },
        {
            trigger: ".modal .o_notebook a:contains(PDF Letter)",
            run: "click",
        },
        {
            content: "The template's content is rendered with the dynamic fields",
            trigger: ".modal .o_kpulse_letter_content:contains(1,240.00)",
        },
        {
            content: "around it, the whole letter as printed",
            trigger:
                ".modal .o_kpulse_letter:has(.o_kpulse_letterhead):has(.o_kpulse_recipient:contains(Claire Gamma)):has(.o_kpulse_invoices:contains(1,240.00))",
        },
        {
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            content: "Back to the e-mail tab",
            trigger: "body:not(:has(.modal)) .o_form_view .o_notebook a:contains(E-mail)",
            run: "click",
        },
        {
            content: "Break the subject",
            trigger: "div[name=subject] input",
            run: "edit {{ object.no_such_field }}",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The broken template is refused with a clear message",
            trigger: ".modal .o_error_dialog:contains(no_such_field)",
        },
        {
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            content: "Discard the broken change",
            trigger: ".o_form_button_cancel",
            run: "click",
        },
        {
            trigger: ".o_form_saved div[name=subject] input",
            run() {
                if (this.anchor.value !== "Reminder for {{object.customer_contact_name}}") {
                    throw new Error(`Subject not restored: "${this.anchor.value}"`);
                }
            },
        },
    ],
});
