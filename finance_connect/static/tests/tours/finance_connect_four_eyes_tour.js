/** @odoo-module **/
import { registry } from "@web/core/registry";

// An administrator changes the base URL of a production connection: the save
// opens a change request, the form keeps the URL in force and says a change waits.
registry.category("web_tour.tours").add("finance_connect_four_eyes_request_tour", {
    steps: () => [
        {
            content: "The connection is under four-eyes control",
            trigger: ".o_form_view .o_field_widget[name='fc_four_eyes_active'] input:checked",
        },
        {
            content: "Change the base URL",
            trigger: ".o_form_view .o_field_widget[name='base_url'] input",
            run: "edit https://bank.example.com/new",
        },
        {
            content: "Say why",
            trigger: ".o_form_view .o_field_widget[name='fc_change_reason'] input",
            run: "edit The bank moved its API",
        },
        {
            trigger: ".o_form_button_save:enabled",
            run: "click",
        },
        {
            content: "The form says a change waits for approval",
            trigger: ".o_form_view .alert-warning:contains('waits for another administrator')",
        },
        {
            content: "The URL in force is still shown",
            trigger: ".o_form_view .o_field_widget[name='base_url'] input:value('http://')",
        },
        {
            trigger: ".o_form_view button[name='action_view_change_requests']",
        },
    ],
});

// Another administrator opens the request, sees old and new values side by
// side and approves it.
registry.category("web_tour.tours").add("finance_connect_four_eyes_approve_tour", {
    steps: () => [
        {
            content: "The pending request is listed",
            trigger: ".o_list_renderer .o_data_cell:contains('Production bank')",
            run: "click",
        },
        {
            content: "Old and new values side by side",
            trigger: ".o_fc_change_table td:contains('https://bank.example.com/new')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='reason']:contains('The bank moved its API')",
        },
        {
            trigger: ".o_form_view button[name='action_approve']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The request is applied",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Applied')",
        },
    ],
});
