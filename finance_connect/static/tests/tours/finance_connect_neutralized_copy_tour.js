/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * On a neutralized copy, an administrator sees the banner on the dashboard's
 * card and on the connection's form, and resumes the connection with the
 * explicit button after its warning (asserted in test_neutralize.py).
 */
registry.category("web_tour.tours").add("finance_connect_neutralized_copy_tour", {
    steps: () => [
        {
            content: "The dashboard's card says this is a neutralized copy",
            trigger:
                ".o_kanban_record:contains('Test bank') .alert-warning:contains('This is a neutralized copy')",
        },
        {
            content: "Open the connection",
            trigger: ".o_kanban_record:contains('Test bank') .fw-bold",
            run: "click",
        },
        {
            content: "The form says it too, and the connection is paused",
            trigger: ".o_form_view .alert-warning:contains('connections paused')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=paused] input:checked",
        },
        {
            content: "Resume on this copy",
            trigger: "button[name=action_resume_on_copy]",
            run: "click",
        },
        {
            content: "The warning names what resuming does",
            trigger: ".modal-body:contains('still holds production')",
        },
        {
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The connection is no longer paused",
            trigger: ".o_form_view .o_field_widget[name=paused] input:not(:checked)",
        },
    ],
});
