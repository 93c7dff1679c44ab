/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/**
 * An accountant creates a mapping set for a connection, maps an account,
 * sees the coverage go up and tries the value; saving the set replays the
 * message that waited for that account (asserted in test_mapping_tour.py).
 */
function readCount(anchor) {
    return parseInt(anchor.textContent.replace(/[^0-9]/g, ""), 10);
}

let unmappedBefore = null;
const COVERAGE = "div[name=coverage_account] .o_field_widget[name=coverage_account_unmapped]";

registry.category("web_tour.tours").add("finance_connect_mapping_tour", {
    steps: () => [
        {
            content: "Create a mapping set",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour revenue mapping",
        },
        {
            content: "Use it for the bank connection",
            trigger: ".o_field_widget[name=connection_ids] input",
            run: "edit Test bank",
        },
        {
            trigger: ".ui-menu-item a:contains('Test bank')",
            run: "click",
        },
        {
            content: "The coverage panel counts the company's accounts, none mapped yet",
            trigger: `div[name=coverage_account] .o_field_widget[name=coverage_account_total]`,
            run() {
                const total = readCount(this.anchor);
                if (!(total > 0)) {
                    throw new Error(`no account counted: ${this.anchor.textContent}`);
                }
            },
        },
        {
            trigger: COVERAGE,
            run() {
                unmappedBefore = readCount(this.anchor);
            },
        },
        {
            content: "Add an account line",
            trigger: "div[name=account_line_ids] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "The Odoo account code",
            trigger:
                "div[name=account_line_ids] .o_selected_row .o_field_widget[name=source_value] input",
            run: "edit 499999",
        },
        {
            content: "The code of the other system",
            trigger:
                "div[name=account_line_ids] .o_selected_row .o_field_widget[name=external_code] input",
            run: "edit REV-TOUR",
        },
        ...stepUtils.saveForm(),
        {
            content: "The line is saved",
            trigger:
                "div[name=account_line_ids] .o_data_row td[name=external_code]:contains(REV-TOUR)",
        },
        {
            content: "One account fewer is unmapped",
            trigger: COVERAGE,
            run() {
                const now = readCount(this.anchor);
                if (now !== unmappedBefore - 1) {
                    throw new Error(`unmapped accounts went from ${unmappedBefore} to ${now}`);
                }
            },
        },
        {
            content: "The change is in the chatter",
            trigger: ".o-mail-Message:contains('Mapping lines added')",
        },
        {
            content: "Try a value",
            trigger: ".o_form_view button[name=action_try_value]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=value] input",
            run: "edit 499999",
        },
        {
            trigger: ".modal .o_field_widget[name=on_date] input",
            run: "click",
        },
        {
            content: "It shows what the code maps to and the deciding line",
            trigger: ".modal .o_field_widget[name=result_target]:contains(REV-TOUR)",
        },
        {
            trigger: ".modal .o_field_widget[name=result_line_id]:contains(499999)",
        },
        {
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

/**
 * From a mapping exception: "Fix" opens a prefilled mapping line; saving it
 * replays the waiting message.
 */
registry.category("web_tour.tours").add("finance_connect_mapping_fix_tour", {
    steps: () => [
        {
            content: "Fix the missing mapping",
            trigger: ".o_form_view button[name=action_open_fix]",
            run: "click",
        },
        {
            content: "The line is prefilled with the missing account",
            trigger: ".modal .o_field_widget[name=account_id] input",
            run() {
                if (!this.anchor.value.includes("499999")) {
                    throw new Error(`account not prefilled: ${this.anchor.value}`);
                }
            },
        },
        {
            trigger: ".modal .o_field_widget[name=external_code] input",
            run: "edit REV-FIX",
        },
        {
            content: "Save: the mapping is created and the message replayed",
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
