import { Component } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/** A reminder level shown as a badge in the level's own colour. */
export class LevelBadgeField extends Component {
    static template = "kpulse_dunning.LevelBadgeField";
    static props = {
        ...standardFieldProps,
        colorField: { type: String, optional: true },
    };

    get label() {
        const value = this.props.record.data[this.props.name];
        if (!value) {
            return "";
        }
        return Array.isArray(value) ? value[1] : value.display_name;
    }

    get color() {
        return (this.props.colorField && this.props.record.data[this.props.colorField]) || 0;
    }
}

registry.category("fields").add("kpulse_level_badge", {
    component: LevelBadgeField,
    displayName: "Reminder level badge",
    supportedTypes: ["many2one"],
    extractProps: ({ options }) => ({ colorField: options.color_field }),
});
