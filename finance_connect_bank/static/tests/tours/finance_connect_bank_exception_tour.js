/** @odoo-module **/
import { registry } from "@web/core/registry";

// The exception inbox as the accountant works it: a statement refused for an
// account no journal has is fixed on the bank journals (Fix), a pushed file
// that does not balance is retried and the notification says what happened.
registry.category("web_tour.tours").add("finance_connect_bank_exception_tour", {
    steps: () => [
        {
            content: "The refused statement has its own category",
            trigger:
                ".o_list_renderer .o_data_row:has(td[name=category]:contains('Unknown bank account')) td[name=name]",
            run: "click",
        },
        {
            content: "It names the real cause",
            trigger:
                ".o_field_widget[name=description]:contains('no bank journal of your companies has account')",
        },
        {
            content: "Its runbook says what to do",
            trigger: ".o_field_widget[name=runbook]:contains('Give the account to its bank journal')",
        },
        {
            content: "Fix",
            trigger: ".o_form_statusbar button[name=action_open_fix]",
            run: "click",
        },
        {
            content: "opens the bank journals, not the upload's pseudo-connection",
            trigger: ".o_breadcrumb:contains('Bank journals')",
        },
        {
            trigger: ".o_list_renderer .o_data_row:contains('Bank TOUR')",
        },
        {
            content: "Back to the inbox",
            trigger: ".o_breadcrumb .breadcrumb-item:first-child a",
            run: "click",
        },
        {
            content: "The pushed file that does not balance",
            trigger:
                ".o_list_renderer .o_data_row:has(td[name=category]:contains('Balance mismatch')) td[name=name]",
            run: "click",
        },
        {
            content: "Retry",
            trigger: ".o_form_statusbar button[name=action_retry]",
            run: "click",
        },
        {
            content: "says what it did",
            trigger: ".o_notification:contains('replayed in the background')",
        },
        {
            content: "and the exception is in progress",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('In progress')",
        },
    ],
});
