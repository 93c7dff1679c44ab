/** @odoo-module **/
import { registry } from "@web/core/registry";

// An invoice sent already: the badge says where and when, the button names
// the connection, and sending again asks first (Cancel leaves it alone).
registry.category("web_tour.tours").add("finance_connect_send_now_tour", {
    steps: () => [
        {
            content: "The badge says the invoice is synced",
            trigger: ".o_form_view .o_field_widget[name='fc_state']:contains('Synced')",
        },
        {
            content: "Next to it: where it went",
            trigger: ".o_field_widget[name='fc_state_note']:contains('Sent to Sandbox bank (demo) on')",
        },
        {
            content: "The button is named after the connection",
            trigger: ".o_form_statusbar button[name='action_fc_send_now']:contains('Send to Sandbox bank (demo)')",
            run: "click",
        },
        {
            content: "Sending again asks first",
            trigger: ".modal .modal-title:contains('Send again?')",
        },
        {
            trigger: ".modal .o_field_widget[name='summary']:contains('Sent to Sandbox bank (demo) on')",
        },
        {
            trigger: ".modal button.btn-secondary:contains('Cancel')",
            run: "click",
        },
        {
            content: "The dialog closes, nothing sent",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
