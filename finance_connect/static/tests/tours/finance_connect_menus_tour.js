/** @odoo-module **/
import { registry } from "@web/core/registry";

// A manager finds Finance Connect under Accounting, opens the demo connection,
// then the exception inbox and the message log.
registry.category("web_tour.tours").add("finance_connect_menus_tour", {
    url: "/odoo/action-finance_connect.finance_connect_connection_action",
    steps: () => [
        {
            content: "The systray shows the open exception",
            trigger: ".o_finance_connect_systray .o_finance_connect_systray_count:contains('1')",
        },
        {
            content: "The demo connection is listed",
            trigger: ".o_list_renderer .o_data_cell:contains('Sandbox bank (demo)')",
            run: "click",
        },
        {
            content: "Its form offers Test connection",
            trigger: ".o_form_view button[name='action_test_connection']",
        },
        {
            content: "Its health is said in words",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Healthy')",
        },
        {
            content: "The Subscriptions tab shows what each subscription filters",
            trigger: ".o_notebook .nav-link:contains('Subscriptions')",
            run: "click",
        },
        {
            content: "Conditions are shown as Odoo's domain editor, not raw text",
            trigger: ".o_field_widget[name='subscription_ids'] .o_data_row .o_field_domain",
        },
        {
            content: "The Delivery tab shows the retry settings",
            trigger: ".o_notebook .nav-link:contains('Delivery')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='max_attempts']",
        },
        {
            content: "Open the Finance Connect menu",
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Exception inbox')",
            run: "click",
        },
        {
            content: "The exception inbox opens",
            trigger: ".o_breadcrumb:contains('Exception inbox')",
        },
        {
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Message log')",
            run: "click",
        },
        {
            content: "The message log opens",
            trigger: ".o_breadcrumb:contains('Message log')",
        },
        {
            trigger: ".o_main_navbar .dropdown-toggle:contains('Finance Connect')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Dashboard')",
            run: "click",
        },
        {
            content: "The dashboard has no New button",
            trigger: ".o_kanban_view:not(:has(.o-kanban-button-new))",
        },
        {
            content: "A connection's open exceptions are a click away",
            trigger:
                ".o_kanban_record:contains('Sandbox bank (demo)') .o_fc_open_exceptions:contains('1')",
            run: "click",
        },
        {
            content: "Its open exception is listed",
            trigger: ".o_list_renderer .o_data_row:contains('Test problem')",
        },
        {
            trigger: ".o_breadcrumb .breadcrumb-item:first-child a",
            run: "click",
        },
        {
            content: "Its messages per day",
            trigger: ".o_kanban_record:contains('Sandbox bank (demo)') .o_fc_statistics",
            run: "click",
        },
        {
            content: "open as a graph",
            trigger: ".o_breadcrumb:contains('messages per day')",
        },
        {
            trigger: ".o_graph_renderer",
        },
    ],
});
