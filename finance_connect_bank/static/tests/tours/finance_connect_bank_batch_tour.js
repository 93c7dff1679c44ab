/** @odoo-module **/
import { registry } from "@web/core/registry";

// Build and send a payment batch: from a draft batch, add a payment from the
// batch's form, then send the batch to the bank.
registry.category("web_tour.tours").add("finance_connect_bank_batch_tour", {
    steps: () => [
        {
            content: "The draft batch holds one payment",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('200.00')",
        },
        {
            content: "Add payments",
            trigger: ".o_form_statusbar button[name=action_add_payments]",
            run: "click",
        },
        {
            content: "The choice opens",
            trigger: ".modal .o_field_widget[name=payment_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Pick the other vendor payment",
            trigger: ".modal .o_list_renderer .o_data_row:contains('300.00') .o_list_record_selector input",
            run: "click",
        },
        {
            trigger: ".modal .modal-footer button.o_select_button",
            run: "click",
        },
        {
            content: "It is chosen",
            trigger: ".modal .o_field_widget[name=payment_ids] .o_data_row:contains('300.00')",
        },
        {
            content: "Add",
            trigger: ".modal .modal-footer button[name=action_add]",
            run: "click",
        },
        {
            content: "The notification says what was added",
            trigger: ".o_notification:contains('1 payment(s) added: 2 in the batch')",
        },
        {
            content: "The batch now holds both payments",
            trigger: ".o_field_widget[name=line_ids] .o_data_row:contains('300.00')",
        },
        {
            content: "Send to the bank",
            trigger: ".o_form_statusbar button[name=action_send]",
            run: "click",
        },
        {
            content: "The batch is sent",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Sent')",
        },
    ],
});
