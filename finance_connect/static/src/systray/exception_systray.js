/** @odoo-module **/
import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";

/**
 * A systray icon with the number of open Finance Connect exceptions of the
 * user's companies; a click opens the exception inbox. The count follows
 * live: the server pings the Finance Connect users' bus channel when
 * exceptions open or change state, and the icon asks for its count again.
 */
export class FinanceConnectExceptionSystray extends Component {
    static template = "finance_connect.ExceptionSystray";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.busService = useService("bus_service");
        this.state = useState({ visible: false, count: 0 });
        onWillStart(async () => {
            this.state.visible = await user.hasGroup("finance_connect.group_user");
            if (this.state.visible) {
                await this.refresh();
                this.busService.subscribe("finance_connect/exceptions_changed", () =>
                    this.refresh()
                );
            }
        });
    }

    async refresh() {
        this.state.count = await this.orm.call(
            "finance.connect.exception",
            "get_open_count",
            []
        );
    }

    openInbox() {
        this.action.doAction("finance_connect.finance_connect_exception_action");
    }
}

registry
    .category("systray")
    .add(
        "finance_connect.exception_systray",
        { Component: FinanceConnectExceptionSystray },
        { sequence: 40 }
    );
