/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A manager opens the versions of a mapping set from its form, compares
 * version 2 with the current one (the external code changed from 8400 to
 * 8410), then restores version 2 (asserted in test_mapping_versions_tour.py).
 */
const V2 = ".o_data_row:has(td[name=number]:contains('2'))";

registry.category("web_tour.tours").add("finance_connect_mapping_versions_tour", {
    steps: () => [
        {
            content: "Open the versions of the set",
            trigger: "button[name=action_view_versions]",
            run: "click",
        },
        {
            content: "Compare version 2 with the current version",
            trigger: `${V2} button[name=action_compare]`,
            run: "click",
        },
        {
            content: "The comparison shows the old and the new external code",
            trigger: ".modal .o_fc_version_diff td:contains('8410')",
        },
        {
            trigger: ".modal .o_fc_version_diff td:contains('8400')",
        },
        {
            content: "Close the comparison",
            trigger: ".modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Restore version 2",
            trigger: `${V2} button[name=action_restore]`,
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The restore is confirmed",
            trigger: ".o_notification:contains('Version 2 restored')",
        },
    ],
});
