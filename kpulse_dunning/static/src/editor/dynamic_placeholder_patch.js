import { DynamicPlaceholderPlugin } from "@html_editor/others/dynamic_placeholder_plugin";
import { patch } from "@web/core/utils/patch";

// Reminder dates and amounts go into letters formatted for the customer's
// language and currency, as the reminder's allowed expressions expect.
const FORMATTERS = {
    date: (chain) => `format_date(object.${chain})`,
    monetary: (chain) => `format_amount(object.${chain}, object.currency_id)`,
};

patch(DynamicPlaceholderPlugin.prototype, {
    async onValidate(chain, defaultValue, fieldType) {
        const format = FORMATTERS[fieldType];
        if (this.defaultResModel !== "kpulse.dunning" || !chain?.match(/^\w+$/) || !format) {
            return super.onValidate(...arguments);
        }
        const placeholder = document.createElement("T");
        placeholder.setAttribute("t-out", format(chain));
        if (defaultValue?.length) {
            placeholder.innerText = defaultValue;
        }
        this.dependencies.dom.insert(placeholder);
        this.dependencies.history.addStep();
    },
});
