/** @odoo-module **/
import { registry } from "@web/core/registry";

// A message as a person reads it: plain words, the payload indented, the
// related record a link that opens it.
registry.category("web_tour.tours").add("finance_connect_message_tour", {
    steps: () => [
        {
            content: "Plain words, not field names",
            trigger: ".o_form_view .o_form_label:contains('Business event key')",
        },
        {
            trigger: ".o_form_view:not(:has(.o_form_label:contains('Idempotency')))",
        },
        {
            content: "The payload tab",
            trigger: ".o_notebook .nav-link:contains('Payload')",
            run: "click",
        },
        {
            content: "The SHA-256 is labelled",
            trigger: ".o_form_view .o_form_label:contains('Payload SHA-256')",
        },
        {
            content: "The JSON is indented",
            trigger: ".o_field_widget[name=payload_display]:contains('event_id')",
            run() {
                const text = this.anchor.textContent;
                if (!text.includes('\n  "')) {
                    throw new Error(`payload not indented: ${text.slice(0, 80)}`);
                }
            },
        },
        {
            content: "The related record is a link",
            trigger: ".o_form_view button[name=action_open_record] .o_field_widget[name=res_name]",
            run: "click",
        },
        {
            content: "which opens the invoice",
            trigger: ".o_form_view .o_field_widget[name=fc_state]",
        },
    ],
});
