/** @odoo-module **/

import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";

/**
 * An accountant imports a bank statement file through Finance Connect > Bank >
 * Import bank files, sees 13 new lines and opens them, then uploads the same
 * file again and is told nothing is new; the statement list shows the statement
 * once, balanced (asserted again in test_bank_import_tour.py).
 *
 * The file is the FFFS camt.053 of the shared corpus (10 entries, one batch
 * entry split in 4: 13 lines, 10000.00 + 13644.83 = 23644.83). The test stores
 * it as an attachment described SOURCE_TAG; the upload step reads it back and
 * puts it in the wizard's file input as a user's file picker would.
 */
const SOURCE_TAG = "finance_connect_bank_import_tour source";
const STATEMENT = "BANKSTMTID0972009";

async function sourceFile() {
    const [attachment] = await rpc("/web/dataset/call_kw/ir.attachment/search_read", {
        model: "ir.attachment",
        method: "search_read",
        args: [[["description", "=", SOURCE_TAG]], ["name", "mimetype", "datas"]],
        kwargs: { limit: 1 },
    });
    if (!attachment) {
        throw new Error(`no attachment described "${SOURCE_TAG}": the test must create it`);
    }
    const bytes = Uint8Array.from(atob(attachment.datas), (c) => c.charCodeAt(0));
    return new File([bytes], attachment.name, { type: attachment.mimetype });
}

function readCount(anchor) {
    return parseInt(anchor.textContent.replace(/[^0-9]/g, ""), 10);
}

function expectCount(name, expected) {
    return {
        content: `The wizard counts ${expected} for ${name}`,
        trigger: `.modal .o_field_widget[name=${name}]`,
        run() {
            const count = readCount(this.anchor);
            if (count !== expected) {
                throw new Error(`${name} is ${count}, expected ${expected}`);
            }
        },
    };
}

function openImportWizard() {
    return [
        {
            content: "Open the Finance Connect menu",
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            content: "Bank > Import bank files",
            trigger: ".dropdown-item:contains('Import bank files')",
            run: "click",
        },
        {
            content: "The upload wizard opens",
            trigger: ".modal .modal-title:contains('Import bank files')",
        },
    ];
}

function uploadAndImport() {
    return [
        {
            content: "Choose the bank file",
            // The input itself is hidden behind the "Attach" button.
            trigger: ".modal .o_field_widget[name=attachment_ids] input.o_input_file:not(:visible)",
            async run() {
                const file = await sourceFile();
                const transfer = new DataTransfer();
                transfer.items.add(file);
                this.anchor.files = transfer.files;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The file is uploaded",
            trigger:
                ".modal .o_field_widget[name=attachment_ids] .o_attachment:not(.o_attachment_uploading):contains('camt_053')",
        },
        {
            content: "Import",
            trigger: ".modal .modal-footer button[name=action_import]",
            run: "click",
        },
        {
            content: "The wizard shows its result",
            trigger: ".modal .o_field_widget[name=result]",
        },
    ];
}

registry.category("web_tour.tours").add("finance_connect_bank_import_tour", {
    steps: () => [
        ...openImportWizard(),
        ...uploadAndImport(),
        expectCount("new_count", 13),
        expectCount("duplicate_count", 0),
        expectCount("error_count", 0),
        {
            content: "The summary says so",
            trigger: ".modal .o_field_widget[name=result]:contains('13 new, 0 already imported')",
        },
        {
            content: "Open the new lines",
            trigger: ".modal .modal-footer button[name=action_view_lines]",
            run: "click",
        },
        {
            content: "The imported lines open",
            trigger: ".o_breadcrumb:contains('Imported lines')",
        },
        {
            content: "The 13 lines of the statement are listed",
            trigger: ".o_list_renderer .o_data_row",
            run() {
                const rows = document.querySelectorAll(".o_list_renderer .o_data_row");
                if (rows.length !== 13) {
                    throw new Error(`${rows.length} imported lines listed, expected 13`);
                }
            },
        },
        // The same file again: nothing new, and the wizard says why.
        ...openImportWizard(),
        ...uploadAndImport(),
        expectCount("new_count", 0),
        expectCount("duplicate_count", 13),
        expectCount("error_count", 0),
        {
            content: "The summary names the earlier import",
            trigger: ".modal .o_field_widget[name=result]:contains('nothing new')",
        },
        {
            content: "No lines to open",
            trigger: ".modal .modal-footer:not(:has(button[name=action_view_lines]))",
        },
        {
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Bank statements')",
            run: "click",
        },
        {
            content: "The statement is listed once, balanced, with its closing balance",
            trigger: `.o_list_renderer .o_data_row:contains(${STATEMENT}):contains('23,644.83')`,
            run() {
                const rows = [...document.querySelectorAll(".o_list_renderer .o_data_row")];
                const mine = rows.filter((row) => row.textContent.includes(STATEMENT));
                if (mine.length !== 1) {
                    throw new Error(`${STATEMENT} listed ${mine.length} times`);
                }
                if (this.anchor.classList.contains("text-danger")) {
                    throw new Error(`${STATEMENT} is shown as incomplete`);
                }
            },
        },
        // The upload's message says it is done and leads to its statement.
        {
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Message log')",
            run: "click",
        },
        {
            content: "The upload is one message, done",
            trigger:
                ".o_list_renderer .o_data_row:contains('Manual upload'):has(td[name=state]:contains('Done')) td[name=reference]",
            run: "click",
        },
        {
            content: "Its Bank import tab",
            trigger: ".o_notebook .nav-link:contains('Bank import')",
            run: "click",
        },
        {
            content: "lists the statement it created",
            trigger: `.o_field_widget[name=fc_statement_ids] .o_data_row:contains(${STATEMENT}) td[name=name]`,
            run: "click",
        },
        {
            content: "which opens",
            trigger: `.modal .o_form_view:contains(${STATEMENT})`,
        },
    ],
});
