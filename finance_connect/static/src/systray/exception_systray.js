/** @odoo-module **/
import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";

/**
 * A systray icon with the number of open Finance Connect exceptions of the
 * user's companies; a click opens the exception inbox.
 */
export class FinanceConnectExceptionSystray extends Component {
    static template = "finance_connect.ExceptionSystray";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ visible: false, count: 0 });
        onWillStart(async () => {
            this.state.visible = await user.hasGroup("finance_connect.group_user");
            if (this.state.visible) {
                this.state.count = await this.orm.call(
                    "finance.connect.exception",
                    "get_open_count",
                    []
                );
            }
        });
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
