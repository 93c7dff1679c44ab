/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/**
 * An accountant sets up a flash trial balance feed mapped to the group chart
 * and delivers it: accounts missing from the mapping set block the period
 * (red row, "Blocked" badge, nothing sent). Asserted further in
 * tests/test_feed_tour.py.
 */
const FEED = "Tour trial balance";
const BLOCKED_ROW = ".o_data_row:has(td[name=state] .badge:contains('Blocked'))";
const DELIVERED_ROW = ".o_data_row:has(td[name=state] .badge:contains('Delivered'))";
const OF_FEED = `:has(td[name=feed_id]:contains('${FEED}'))`;

function cellText(row, name) {
    return row.querySelector(`td[name=${name}]`).textContent.trim();
}

registry.category("web_tour.tours").add("finance_connect_reporting_feed_tour", {
    steps: () => [
        {
            content: "Create a feed",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: `edit ${FEED}`,
        },
        {
            content: "A trial balance",
            trigger: ".o_field_widget[name=kind] select",
            run: "selectByLabel Trial balance",
        },
        {
            content: "Mapped to the group chart",
            trigger: ".o_field_widget[name=mapping_id] input",
            run: "edit Tour group chart",
        },
        {
            trigger: ".ui-menu-item a:contains('Tour group chart')",
            run: "click",
        },
        {
            content: "Pushed by the scheduler",
            trigger: ".o_field_widget[name=mode] select",
            run: "selectByLabel Scheduled batch",
        },
        {
            content: "To the BI warehouse",
            trigger: ".o_field_widget[name=connection_id] input",
            run: "edit BI warehouse",
        },
        {
            trigger: ".ui-menu-item a:contains('BI warehouse')",
            run: "click",
        },
        {
            content: "Flash: the open current month",
            trigger: ".o_field_widget[name=period_status] select",
            run: "selectByLabel Flash",
        },
        ...stepUtils.saveForm(),
        {
            content: "Deliver the current month",
            trigger: ".o_form_view button[name=action_deliver_last_period]",
            run: "click",
        },
        {
            content: "The deliveries of the feed open",
            trigger: `.o_breadcrumb:contains('Deliveries of ${FEED}')`,
        },
        {
            content: "The delivery is blocked: badge, and the row in red",
            trigger: `.o_list_view ${BLOCKED_ROW}.text-danger`,
        },
        {
            content: "It is the only delivery",
            trigger: ".o_list_view .o_list_renderer",
            run() {
                const rows = this.anchor.querySelectorAll(".o_data_row");
                if (rows.length !== 1) {
                    throw new Error(`expected one delivery, got ${rows.length}`);
                }
            },
        },
    ],
});

/**
 * Once the missing accounts are mapped, the accountant delivers again: the
 * delivered debit matches the ledger's, and the comparison screen groups
 * both deliveries under the feed.
 */
registry.category("web_tour.tours").add("finance_connect_reporting_feed_redeliver_tour", {
    steps: () => [
        {
            content: "Deliver the current month again",
            trigger: ".o_form_view button[name=action_deliver_last_period]",
            run: "click",
        },
        {
            content: "The new delivery went out",
            trigger: `.o_list_view ${DELIVERED_ROW}:not(.text-danger)`,
            run() {
                // Amounts shown in the feed's currency, the difference to the ledger 0.
                const ledger = cellText(this.anchor, "ledger_debit_amount");
                const delivered = cellText(this.anchor, "delivered_debit_amount");
                if (!ledger || ledger !== delivered || !/[1-9]/.test(delivered)) {
                    throw new Error(`ledger debit "${ledger}" != delivered debit "${delivered}"`);
                }
                if (
                    cellText(this.anchor, "ledger_credit_amount") !==
                    cellText(this.anchor, "delivered_credit_amount")
                ) {
                    throw new Error("ledger credit differs from the delivered credit");
                }
                const difference = cellText(this.anchor, "ledger_difference");
                if (/[1-9]/.test(difference) || !/0/.test(difference)) {
                    throw new Error(`difference to the ledger "${difference}" is not 0`);
                }
            },
        },
        {
            content: "The blocked one stays listed",
            trigger: `.o_list_view ${BLOCKED_ROW}.text-danger`,
        },
        {
            content: "Open the comparison screen from the menu",
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Ledger / delivered / acknowledged')",
            run: "click",
        },
        {
            content: "Grouped by feed",
            trigger: `.o_list_view .o_group_header:contains('${FEED} (2)')`,
            run: "click",
        },
        {
            content: "Both deliveries of the feed",
            trigger: `.o_list_view ${DELIVERED_ROW}:not(.text-danger)${OF_FEED}`,
        },
        {
            trigger: `.o_list_view ${BLOCKED_ROW}.text-danger${OF_FEED}`,
        },
    ],
});
