"""Demo data that XML cannot express, and the demo connection's sandbox.

The demo connection (``demo/finance_connect_demo.xml``) talks to the sandbox
counterparty ``setup/start`` runs on loopback: its URL and webhook secret come
from the server configuration (``finance_connect_sandbox_url``,
``finance_connect_sandbox_secret``) and follow it on every ``setup/start``
(``_sync_sandbox_url``, ``_sync_sandbox_secret``), as long as the demo
connection still points at a loopback address.
"""

from odoo import api, models, tools
from odoo.exceptions import UserError

from ..lib import outbound_guard, signing
from .finance_connect_http import ALLOWED_HOSTS_PARAM

DEMO_SANDBOX_URL = "http://127.0.0.1:8070"


class FinanceConnectDemo(models.AbstractModel):
    _name = "finance.connect.demo"
    _description = "Finance Connect demo data"

    @api.model
    def _setup(self):
        """A second company with its chart of accounts, a bank journal with an
        IBAN, the sandbox URL from the server configuration and a webhook
        secret (when an encryption key is set)."""
        connection = self.env.ref("finance_connect.demo_connection_sandbox")
        # The sandbox runs on loopback, where outbound calls go only when allowed.
        self._allow_sandbox_host()
        if not connection.base_url:
            connection.base_url = tools.config.get("finance_connect_sandbox_url") or (
                DEMO_SANDBOX_URL
            )
        self._sync_sandbox_url()
        main = self.env.ref("base.main_company")
        Journal = self.env["account.journal"]
        if main.chart_template and not Journal.search(
            [("code", "=", "FCB"), ("company_id", "=", main.id)]
        ):
            Journal.create(
                {
                    "name": "Finance Connect Bank (demo)",
                    "code": "FCB",
                    "type": "bank",
                    "company_id": main.id,
                    "bank_acc_number": "NL91ABNA0417164300",
                }
            )
        company_b = self.env["res.company"].search([("name", "=", "Finance Connect Demo B.V.")])
        if not company_b:
            company_b = self.env["res.company"].create(
                {
                    "name": "Finance Connect Demo B.V.",
                    "currency_id": self.env.ref("base.EUR").id,
                    "country_id": self.env.ref("base.nl").id,
                }
            )
            self.env.user.company_ids |= company_b
            self.env["account.chart.template"].try_loading(
                "generic_coa", company_b, install_demo=False
            )
        try:
            self.env["finance.connect.secret"]._get_box()
        except UserError:
            return  # no key configured: the demo runs without signatures
        if not self._sync_sandbox_secret() and not connection.has_webhook_secret:
            self.env["finance.connect.secret"]._store(
                connection, "webhook_secret", signing.generate_secret(32)
            )

    @api.model
    def _get_sandbox_setting(self, key):
        """``(value, demo connection)`` of server configuration ``key`` for the
        sandbox counterparty; the connection is empty when there is nothing to
        sync: no value, no demo connection, a demo connection someone pointed
        at a real system (not a loopback address), or one under four-eyes
        control (marked production)."""
        value = tools.config.get(key)
        nothing = self.env["finance.connect.connection"]
        connection = self.env.ref(
            "finance_connect.demo_connection_sandbox", raise_if_not_found=False
        )
        if not value or not connection:
            return value, nothing
        if connection.base_url and not outbound_guard.is_loopback_url(connection.base_url):
            return value, nothing
        if connection._fc_four_eyes_on():  # marked production: changed by request only
            return value, nothing
        return value, connection

    @api.model
    def _sync_sandbox_url(self):
        """Point the demo connection at the sandbox counterparty of the server
        configuration (``finance_connect_sandbox_url``): at install, and on every
        ``setup/start``, whose sandbox may listen on another port than last time.

        Only the demo connection, and only while it still points at a loopback
        address: a demo connection someone pointed at a real system is left
        alone. Returns the connection when its base URL changed.
        """
        url, connection = self._get_sandbox_setting("finance_connect_sandbox_url")
        if not connection or connection.base_url == url:
            return self.env["finance.connect.connection"]
        self._allow_sandbox_host(url)
        connection.base_url = url
        return connection

    @api.model
    def _allow_sandbox_host(self, url=None):
        """Allow outbound calls to the sandbox (a loopback address, refused
        otherwise): ``url``, by default the one of the server configuration
        (``finance_connect_sandbox_url``, written into odoo.conf by the
        administrator who runs it), else the demo's default port. Only that
        host and port are allowed."""
        url = url or tools.config.get("finance_connect_sandbox_url") or DEMO_SANDBOX_URL
        if not outbound_guard.is_loopback_url(url):
            return
        entry = outbound_guard.host_entry(url)
        params = self.env["ir.config_parameter"].sudo()
        current = params.get_param(ALLOWED_HOSTS_PARAM, "")
        entries = [e.strip() for e in current.split(",") if e.strip()]
        if entry not in entries:
            params.set_param(ALLOWED_HOSTS_PARAM, ",".join([*entries, entry]))

    @api.model
    def _sync_sandbox_secret(self):
        """Give the demo connection the webhook secret of the sandbox counterparty
        (``finance_connect_sandbox_secret``, which ``setup/start`` also hands to the
        sandbox), so that the sandbox verifies the demo's signatures. Same rules as
        :meth:`_sync_sandbox_url`; needs the encryption key. Returns the
        connection when its secret changed.
        """
        secret, connection = self._get_sandbox_setting("finance_connect_sandbox_secret")
        if not connection:
            return self.env["finance.connect.connection"]
        Secret = self.env["finance.connect.secret"]
        try:
            Secret._get_box()
        except UserError:
            return self.env["finance.connect.connection"]  # no key: the demo runs unsigned
        try:
            current = Secret._reveal_uncached(connection, "webhook_secret")
        except UserError:  # stored with another key: replaced below
            current = None
        if current == secret:
            return self.env["finance.connect.connection"]
        Secret._store(connection, "webhook_secret", secret)
        return connection
