"""Connections to external systems: endpoint, authentication, secrets, health.

The configuration and state of one counterparty. The work is done by
``finance.connect.delivery`` (outbound, circuit breaker), ``.handler``
(inbound), ``.webhook.receiver``, ``.http`` (calls, authentication),
``.secret`` (encrypted secrets) and ``.mapping`` (the mapping sets).
"""

import secrets as pysecrets

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lib.secretbox import MASK
from ..lib.webhook_inbound import HARD_LIMIT_BYTES, hash_token
from .finance_connect_delivery import DRAIN_BATCH
from .finance_connect_tier import TIER_OF_KIND, TIERS
from .finance_connect_webhook_receiver import WEBHOOK_SETTING_FIELDS

ADMIN_GROUP = "finance_connect.group_administrator"
MANAGER_GROUP = "finance_connect.group_manager"

#: Fields that decide where credentials are sent, how they are sent, which
#: inbound webhooks are trusted, and the company whose books they touch:
#: only Finance Connect administrators change them (item "managers configure,
#: administrators hold secrets"). Sibling addons add theirs with
#: ``_get_admin_only_fields``.
ADMIN_ONLY_FIELDS = frozenset(
    {
        "base_url",
        "verify_tls",
        "auth_type",
        "api_key_header",
        "basic_username",
        "oauth_token_url",
        "oauth_client_id",
        "oauth_scope",
        "webhook_verifier",
        "webhook_public_key",
        "webhook_tolerance",
        "webhook_previous_expiry",
        "rotation_grace_hours",
        "company_id",
    }
)
#: Fields only the system itself writes (tokens are generated, never typed).
SYSTEM_ONLY_FIELDS = frozenset({"webhook_token_hash", "oauth_token_expiry"})
#: Fields whose default a manager may leave as it is when creating a connection.
CREATE_EXEMPT_FIELDS = frozenset({"company_id"})
# Secret fields shown (masked) on the form: field name -> secret name.
SECRET_FIELDS = {
    "api_key": "api_key",
    "bearer_token": "bearer_token",
    "basic_password": "basic_password",
    "oauth_client_secret": "oauth_client_secret",
    "webhook_secret": "webhook_secret",
}
#: Four-eyes control (``finance.connect.four.eyes.mixin``): on a production
#: connection of a company with four-eyes on, a change of these waits for
#: another administrator's approval: the administrator-only fields (its
#: endpoint, authentication, webhook verification and company) but the
#: secret-rotation timing, plus its outbound path and secrets, what would take
#: it out of the control (environment, kind); for bank, PSP and treasury
#: connections also which mapping sets with account, journal or bank account
#: lines they use (approved by another manager).
FOUR_EYES_FIELDS = (ADMIN_ONLY_FIELDS - {"webhook_previous_expiry", "rotation_grace_hours"}) | {
    "outbound_path",
    "environment",
    "kind",
    "mapping_ids",
    *SECRET_FIELDS,
}
#: Connection kinds whose mapping lines of MONEY_MAPPING_TYPES are guarded.
MONEY_KINDS = ("bank", "psp", "treasury")


class FinanceConnectConnection(models.Model):
    _name = "finance.connect.connection"
    _description = "Finance Connect connection"
    _inherit = ["mail.thread", "finance.connect.four.eyes.mixin"]
    _order = "sequence, name"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    kind = fields.Selection(
        [
            ("bank", "Bank"),
            ("psp", "Payment service provider"),
            ("treasury", "Treasury"),
            ("reporting", "Reporting / BI"),
            ("planning", "Planning"),
            ("other", "Other"),
        ],
        required=True,
        default="other",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    environment = fields.Selection(
        [("test", "Test"), ("production", "Production")],
        required=True,
        default="test",
        tracking=True,
    )
    paused = fields.Boolean(
        tracking=True, help="A paused connection keeps its messages queued and sends nothing."
    )
    fc_neutralized_copy = fields.Boolean(
        string="Neutralized copy",
        compute="_compute_fc_neutralized_copy",
        help="This database is a neutralized copy of production (odoo-bin neutralize, "
        "Odoo.sh staging or a duplicate): connections were paused and tokens replaced.",
    )
    fc_copy_banner = fields.Char(string="Copy banner", compute="_compute_fc_neutralized_copy")
    tier = fields.Selection(
        TIERS,
        string="Service tier",
        compute="_compute_tier",
        store=True,
        readonly=False,
        required=True,
        precompute=True,
        tracking=True,
        help="Critical work (bank and PSP payment flows) never waits behind bulk work "
        "(reporting, planning): each tier has its own job capacity, set on the tier.",
    )
    deliver_in_order = fields.Boolean(
        help="Deliver the messages one after the other in the order their events "
        "happened: a message that fails holds back the later ones until it goes through.",
    )
    degrade_after_minutes = fields.Integer(
        string="Switch to batch after (min)",
        default=0,
        help="When deliveries have been paused after failures for this many minutes, "
        "real-time subscriptions collect their events in batches until the system is "
        "back. 0: never.",
    )
    degraded = fields.Boolean(
        readonly=True,
        copy=False,
        help="The system has been unreachable too long: real-time events are sent in "
        "batches until it is back.",
    )
    degraded_since = fields.Datetime(readonly=True, copy=False)
    degraded_text = fields.Char(compute="_compute_degraded_text", string="Degraded mode")
    circuit_opened_at = fields.Datetime(
        readonly=True, copy=False, help="Since when deliveries have been paused after failures."
    )
    base_url = fields.Char(
        string="Base URL", tracking=True, help="Where outbound messages are sent."
    )
    outbound_path = fields.Char(default="/events", help="Path appended to the base URL.")
    verify_tls = fields.Boolean(string="Verify TLS", default=True)
    uses_tls = fields.Boolean(
        compute="_compute_uses_tls", help="The base URL is https: TLS settings apply."
    )
    timeout_connect = fields.Float(default=5.0, help="Seconds to establish a connection.")
    timeout_read = fields.Float(default=30.0, help="Seconds to wait for an answer.")
    rate_limit_per_minute = fields.Integer(
        string="Max requests / minute", default=600, help="0 means no limit."
    )
    max_attempts = fields.Integer(default=6, help="Delivery attempts before dead letter.")
    backoff_base = fields.Integer(
        string="Backoff base (s)", default=10, help="First retry delay; doubles each time."
    )
    backoff_cap = fields.Integer(string="Backoff cap (s)", default=3600)
    parallel_deliveries = fields.Integer(
        default=2, help="Delivery jobs of this connection that may run at the same time."
    )

    # Authentication of outbound calls
    auth_type = fields.Selection(
        [
            ("none", "None"),
            ("api_key", "API key header"),
            ("bearer", "Bearer token"),
            ("basic", "HTTP basic"),
            ("oauth2", "OAuth2 client credentials"),
        ],
        required=True,
        default="none",
        tracking=True,
    )
    api_key_header = fields.Char(default="X-API-Key")
    basic_username = fields.Char()
    oauth_token_url = fields.Char(string="OAuth2 token URL")
    oauth_client_id = fields.Char(string="OAuth2 client id")
    oauth_scope = fields.Char(string="OAuth2 scope")
    oauth_token_expiry = fields.Datetime(readonly=True, copy=False)

    # Secrets: computed from the encrypted store, shown masked, admins only.
    api_key = fields.Char(
        compute="_compute_secrets", inverse="_inverse_api_key", groups=ADMIN_GROUP
    )
    bearer_token = fields.Char(
        compute="_compute_secrets", inverse="_inverse_bearer_token", groups=ADMIN_GROUP
    )
    basic_password = fields.Char(
        compute="_compute_secrets", inverse="_inverse_basic_password", groups=ADMIN_GROUP
    )
    oauth_client_secret = fields.Char(
        string="OAuth2 client secret",
        compute="_compute_secrets",
        inverse="_inverse_oauth_client_secret",
        groups=ADMIN_GROUP,
    )
    webhook_secret = fields.Char(
        compute="_compute_secrets",
        inverse="_inverse_webhook_secret",
        groups=ADMIN_GROUP,
        help="Signs outbound messages and verifies inbound webhooks (whsec_...).",
    )
    has_webhook_secret = fields.Boolean(compute="_compute_has_webhook_secret")
    fc_can_edit_trust = fields.Boolean(
        compute="_compute_fc_can_edit_trust",
        help="Whether the current user may change the administrator-only fields "
        "(endpoints, authentication, webhook verification, company).",
    )
    webhook_previous_expiry = fields.Datetime(
        string="Previous secret valid until",
        copy=False,
        tracking=True,
        help="After a rotation the previous webhook secret keeps working until then.",
    )
    rotation_grace_hours = fields.Integer(default=24)

    # Inbound webhooks
    webhook_token_hash = fields.Char(
        copy=False,
        readonly=True,
        index=True,
        groups=ADMIN_GROUP,
        help="sha256 of the random part of this connection's webhook URL; the URL "
        "itself is shown once, when it is generated.",
    )
    webhook_url = fields.Char(compute="_compute_webhook_url", groups=MANAGER_GROUP)
    webhook_verifier = fields.Selection(
        [("standard_webhooks", "Standard Webhooks"), ("stripe", "Stripe-Signature")],
        default="standard_webhooks",
        required=True,
    )
    webhook_public_key = fields.Char(
        help="ed25519 public key (whpk_... or base64) for v1a signatures."
    )
    webhook_tolerance = fields.Integer(string="Timestamp tolerance (s)", default=300)
    max_body_kib = fields.Integer(string="Max inbound body (KiB)", default=5 * 1024)
    webhook_rejection_alert_at = fields.Datetime(
        string="Last rejection alarm",
        readonly=True,
        copy=False,
        help="When a burst of refused webhooks last opened an exception.",
    )

    # Circuit breaker
    circuit_threshold = fields.Integer(default=5, help="Consecutive failures that open it.")
    circuit_cooldown = fields.Integer(string="Cool-down (s)", default=60)
    circuit_state = fields.Selection(
        [
            ("closed", "Healthy"),
            ("open", "Paused after failures"),
            ("half_open", "Testing (one delivery probes)"),
        ],
        string="Health",
        help="Healthy: deliveries go out. Paused after failures: after too many failures in a "
        "row nothing is sent until the cool-down has passed. Testing: one delivery probes "
        "whether the system is back.",
        default="closed",
        readonly=True,
        copy=False,
    )
    consecutive_failures = fields.Integer(readonly=True, copy=False)
    circuit_changed_at = fields.Datetime(readonly=True, copy=False)

    subscription_ids = fields.One2many("finance.connect.subscription", "connection_id")
    mapping_ids = fields.Many2many(
        "finance.connect.mapping",
        "finance_connect_mapping_connection_rel",
        "connection_id",
        "mapping_id",
        string="Mapping sets",
        check_company=True,
        help="How Odoo values translate to this system's codes.",
    )
    message_count = fields.Integer(compute="_compute_dashboard")
    exception_open_count = fields.Integer(compute="_compute_dashboard")

    # Dashboard
    dash_today_done = fields.Integer(compute="_compute_dashboard", string="Done today")
    dash_today_failed = fields.Integer(compute="_compute_dashboard", string="Failed today")
    dash_today_retrying = fields.Integer(compute="_compute_dashboard", string="Retrying")
    dash_queue_depth = fields.Integer(compute="_compute_dashboard", string="Waiting to send")
    dash_failure_rate = fields.Float(compute="_compute_dashboard", string="Failure rate (%)")
    dash_last_success = fields.Datetime(compute="_compute_dashboard", string="Last success")
    dash_latency_p50 = fields.Float(compute="_compute_dashboard", string="Latency p50 (ms)")
    dash_latency_p95 = fields.Float(compute="_compute_dashboard", string="Latency p95 (ms)")

    _sql_constraints = [
        (
            "webhook_token_hash_uniq",
            "unique(webhook_token_hash)",
            "Webhook tokens must be unique.",
        ),
        ("max_attempts_positive", "CHECK(max_attempts > 0)", "Attempts must be positive."),
    ]

    # ------------------------------------------------------------------
    # Secrets (encrypted in finance.connect.secret, administrators only)
    # ------------------------------------------------------------------

    @api.depends("kind")
    def _compute_tier(self):
        for conn in self:
            conn.tier = TIER_OF_KIND.get(conn.kind, "standard")

    @api.depends("degraded", "degraded_since")
    def _compute_degraded_text(self):
        for conn in self:
            conn.degraded_text = (
                self.env._(
                    "Degraded: sending in batches since %(since)s",
                    since=fields.Datetime.context_timestamp(conn, conn.degraded_since).strftime(
                        "%Y-%m-%d %H:%M"
                    ),
                )
                if conn.degraded and conn.degraded_since
                else False
            )

    def _compute_secrets(self):
        Secret = self.env["finance.connect.secret"]
        for conn in self:
            masked = Secret._get_masked(conn, set(SECRET_FIELDS.values()))
            for field_name, secret_name in SECRET_FIELDS.items():
                conn[field_name] = masked.get(secret_name, False)

    def _compute_fc_can_edit_trust(self):
        self.fc_can_edit_trust = self._is_fc_admin()

    def _compute_fc_neutralized_copy(self):
        neutralized = self._is_neutralized_copy()
        banner = neutralized and self.env._(
            "This is a neutralized copy: connections paused, webhook and pull tokens "
            "replaced, scheduled pulls and feeds stopped. Nothing is sent to a "
            "counterparty until an administrator resumes a connection on this copy."
        )
        for conn in self:
            conn.fc_neutralized_copy = neutralized
            conn.fc_copy_banner = banner

    @api.model
    def _is_neutralized_copy(self):
        """Whether this database was neutralized (Odoo's ``database.is_neutralized``,
        set by ``odoo-bin neutralize``, Odoo.sh staging and duplicates)."""
        value = self.env["ir.config_parameter"].sudo().get_param("database.is_neutralized")
        return bool(value) and str(value).lower() not in ("0", "false")

    def _compute_has_webhook_secret(self):
        store = self.env["finance.connect.secret"].sudo()
        for conn in self:
            conn.has_webhook_secret = bool(
                conn.id
                and store.search_count(
                    [("connection_id", "=", conn.id), ("name", "=", "webhook_secret")]
                )
            )

    def _set_secret_from_field(self, field_name):
        """Inverse of a secret field: encrypt what an administrator typed."""
        self._check_secret_admin()
        for conn in self:
            self.env["finance.connect.secret"]._store_typed(
                conn, SECRET_FIELDS[field_name], conn[field_name]
            )

    def _inverse_api_key(self):
        self._set_secret_from_field("api_key")

    def _inverse_bearer_token(self):
        self._set_secret_from_field("bearer_token")

    def _inverse_basic_password(self):
        self._set_secret_from_field("basic_password")

    def _inverse_oauth_client_secret(self):
        self._set_secret_from_field("oauth_client_secret")

    def _inverse_webhook_secret(self):
        self._set_secret_from_field("webhook_secret")

    def _check_secret_admin(self):
        if not (self.env.su or self.env.user.has_group(ADMIN_GROUP)):
            raise AccessError(self.env._("Only Finance Connect administrators may set secrets."))

    def _get_secret(self, name):
        """Plain text of a secret, for the engine only (never for display)."""
        self.ensure_one()
        return self.env["finance.connect.secret"]._reveal(self, name)

    def action_generate_webhook_secret(self):
        """Generate a new webhook secret; the old one keeps working for the grace period.

        The new secret is shown once, in a notification, so that it can be set
        at the counterparty; afterwards it is only ever shown masked.
        """
        self.ensure_one()
        self._check_secret_admin()
        self.check_access("write")
        self._fc_check_no_four_eyes(
            self.env._(
                "a new webhook secret is requested by typing it (whsec_...) into Webhook " "secret."
            )
        )
        new_secret = self.env["finance.connect.secret"]._rotate_webhook_secret(self)
        self.invalidate_recordset(["webhook_secret", "has_webhook_secret"])
        return self._notify_once(self.env._("New webhook secret (shown once)"), new_secret)

    def action_regenerate_webhook_token(self):
        """Give the connection a new webhook URL; the old one stops working.

        Administrators only, on connections of their companies. The URL is
        shown once, in a notification; only its token's sha256 is stored.
        """
        self.ensure_one()
        self._check_admin_may_change()
        url = self.env["finance.connect.webhook.receiver"]._get_url(self._issue_webhook_token())
        return self._notify_once(self.env._("New webhook URL (shown once)"), url)

    def _notify_once(self, title, secret_text):
        """The sticky notification that shows a new secret or URL, once."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": secret_text, "sticky": True, "type": "warning"},
        }

    def _issue_webhook_token(self):
        """Generate a webhook token, store its hash, return it in clear (once).
        The caller has checked the rights."""
        self.ensure_one()
        token = pysecrets.token_urlsafe(32)
        self.sudo().webhook_token_hash = hash_token(token)
        self.env["finance.connect.audit"]._log(self, "webhook_token_regenerated")
        return token

    @api.depends("webhook_token_hash")
    def _compute_webhook_url(self):
        hidden = self.env["finance.connect.webhook.receiver"]._get_url(
            self.env._("<token shown once, when generated>")
        )
        for conn in self:
            conn.webhook_url = hidden if conn.sudo().webhook_token_hash else False

    # ------------------------------------------------------------------
    # Who may change what
    # ------------------------------------------------------------------

    def _is_fc_admin(self):
        return self.env.su or self.env.user.has_group(ADMIN_GROUP)

    def _check_admin_may_change(self):
        """Administrators only, and only on connections they may write."""
        if not self._is_fc_admin():
            raise AccessError(
                self.env._(
                    "Only Finance Connect administrators may do this on a connection "
                    "(webhook URLs, secrets, endpoints and authentication)."
                )
            )
        self.check_access("write")

    def _check_manager_may_act(self):
        """Managers (and administrators) only, on connections they may write."""
        if not (self.env.su or self.env.user.has_group(MANAGER_GROUP)):
            raise AccessError(
                self.env._("Only Finance Connect managers may do this on a connection.")
            )
        self.check_access("write")

    @api.model
    def _get_admin_only_fields(self):
        """Fields only administrators change. EXTEND in sibling addons."""
        return set(ADMIN_ONLY_FIELDS)

    def _check_field_rights(self, vals, creating=False):
        """Refuse a change of an administrator-only field by anyone else, and of
        a system-only field by anyone but the system itself (superuser)."""
        if self.env.su:
            return
        system = sorted(SYSTEM_ONLY_FIELDS.intersection(vals))
        if system:
            raise AccessError(
                self.env._(
                    "%(fields)s of a connection are set by the system only (a webhook "
                    "URL is generated with the New webhook URL button).",
                    fields=", ".join(system),
                )
            )
        if self._is_fc_admin():
            return
        guarded = self._get_admin_only_fields().intersection(vals)
        if creating:
            defaults = self.default_get(list(guarded))
            changed = {
                name
                for name in guarded - CREATE_EXEMPT_FIELDS
                if self._differs(name, defaults.get(name), vals[name])
            }
        else:
            changed = {
                name
                for name in guarded
                for conn in self
                if self._differs(name, conn[name], vals[name])
            }
        if changed:
            labels = sorted(self._fields[name].string for name in changed)
            raise AccessError(
                self.env._(
                    "Only Finance Connect administrators may set %(fields)s of a "
                    "connection: they decide where credentials are sent and which "
                    "webhooks are trusted. Ask an administrator.",
                    fields=", ".join(labels),
                )
            )

    def _differs(self, name, current, new):
        field = self._fields[name]
        if field.type == "many2one":
            current = current.id if isinstance(current, models.BaseModel) else current
        if field.type == "datetime" and new:
            new = fields.Datetime.to_datetime(new)
        if field.type in ("integer", "float"):
            return (current or 0) != (new or 0)
        return (current or False) != (new or False)

    @api.constrains("max_body_kib")
    def _check_max_body_kib(self):
        limit = HARD_LIMIT_BYTES // 1024
        for conn in self:
            if not 1 <= conn.max_body_kib <= limit:
                raise ValidationError(
                    self.env._(
                        "The maximum inbound body must lie between 1 and %(limit)s KiB.",
                        limit=limit,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_field_rights(vals, creating=True)
            self._check_outbound_urls(vals)
        records = super().create(vals_list)
        self.env.registry.clear_cache()  # the webhook token index
        return records

    def write(self, vals):
        self._check_field_rights(vals)
        self._check_resume_on_copy(vals)
        self._check_outbound_urls(vals)
        held = self._fc_four_eyes_write(vals)
        if held is not None:
            return held
        res = super().write(vals)
        if "mapping_ids" in vals:  # a newly assigned set may map waiting messages
            self.env["finance.connect.mapping"]._invalidate_table_cache()
            self.sudo().mapping_ids._after_lines_change()
        if WEBHOOK_SETTING_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()  # the webhook token index and settings
        return res

    def _check_resume_on_copy(self, vals):
        """On a neutralized copy, a paused connection is resumed only by the
        administrators' explicit "Resume on this copy" (``action_resume_on_copy``)."""
        if self.env.su or "paused" not in vals or vals["paused"]:
            return
        if any(conn.paused for conn in self) and self._is_neutralized_copy():
            raise UserError(
                self.env._(
                    "This database is a neutralized copy of production: its connections "
                    "were paused so that it never pays a supplier twice or posts into a "
                    "production API. An administrator resumes a connection with the "
                    "Resume on this copy button, after pointing it at a test endpoint."
                )
            )

    def action_resume_on_copy(self):
        """Resume paused connections on a neutralized copy: administrators only,
        on connections they may write; audited. The button asks for confirmation
        (the connection still holds production's endpoint and credentials)."""
        self._check_admin_may_change()
        detail = "neutralized copy" if self._is_neutralized_copy() else ""
        self._resume("connection_resumed_on_copy", detail)
        return True

    # ------------------------------------------------------------------
    # Four-eyes control (finance.connect.four.eyes.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _fc_four_eyes_fields(self):
        return FOUR_EYES_FIELDS

    @api.model
    def _fc_four_eyes_secret_fields(self):
        return frozenset(SECRET_FIELDS)

    @api.model
    def _fc_four_eyes_manager_fields(self):
        """Guarded fields another manager approves (the others: another
        administrator). EXTEND with ledger settings of sibling addons."""
        return frozenset({"mapping_ids"})

    @api.model
    def _fc_four_eyes_approver(self, names=None):
        """Another manager for manager fields alone, else another administrator."""
        if names and set(names) <= self._fc_four_eyes_manager_fields():
            return "manager"
        return "administrator"

    def _fc_four_eyes_on(self, vals=None):
        """Production connections of companies with four-eyes on."""
        return self.filtered(
            lambda c: c._origin.id and c.environment == "production" and c.company_id.fc_four_eyes
        )

    def _fc_four_eyes_scope(self, vals=None):
        return {"company_id": self.company_id.id, "connection_id": self.id}

    def _fc_has_secret(self, name):
        return bool(
            self.env["finance.connect.secret"]
            .sudo()
            .search_count([("connection_id", "=", self.id), ("name", "=", SECRET_FIELDS[name])])
        )

    def _fc_differs(self, name, new):
        if name in SECRET_FIELDS:
            if isinstance(new, str) and new.startswith(MASK):
                return False  # the masked value came back unchanged
            return bool(new) or self._fc_has_secret(name)
        if name == "mapping_ids":
            if self.kind not in MONEY_KINDS:
                return False
            changed = set(self.mapping_ids.ids) ^ set(self._fc_x2many_ids(name, new))
            lines = self.env["finance.connect.mapping.line"]
            return bool(changed and lines._fc_money_lines_of(changed))
        return super()._fc_differs(name, new)

    def _fc_check_no_four_eyes(self, what):
        """Refuse a button that changes a guarded setting at once."""
        if self._fc_four_eyes_on() and not self._fc_four_eyes_passed():
            raise UserError(
                self.env._(
                    "%(connection)s is under four-eyes control: %(what)s Give a Reason for "
                    "change and save; another administrator approves the change request.",
                    connection=self.display_name,
                    what=what,
                )
            )

    def action_view_change_requests(self):
        """The change requests of this connection (a window action; the list
        is read with the user's own rights)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_change_request_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"search_default_pending": 1}
        return action

    @api.model
    def _get_outbound_url_fields(self):
        """Fields holding a URL that outbound calls go to. EXTEND."""
        return {"base_url", "oauth_token_url"}

    @api.model
    def _check_outbound_urls(self, vals):
        """Refuse, when saved, an outbound URL naming a loopback, private,
        link-local or reserved address literally (names are resolved and checked
        again at each request, ``finance.connect.http``)."""
        for name in sorted(self._get_outbound_url_fields().intersection(vals)):
            if vals[name]:
                self.env["finance.connect.http"]._check_saved_url(
                    self._fields[name].string, vals[name]
                )

    # ------------------------------------------------------------------
    # Calls to the counterparty (finance.connect.http, .delivery)
    # ------------------------------------------------------------------

    @api.depends("base_url")
    def _compute_uses_tls(self):
        for conn in self:
            conn.uses_tls = (conn.base_url or "").lower().startswith("https:")

    def action_reset_circuit(self):
        """Close the circuit breaker (``finance.connect.delivery``): managers only."""
        self._check_manager_may_act()
        for conn in self:
            self.env["finance.connect.delivery"]._circuit_record_success(conn)

    def action_pause(self):
        """Hold this connection's work (managers): its messages stay queued,
        nothing is sent, nothing fails. Audited."""
        self._check_manager_may_act()
        for conn in self.filtered(lambda c: not c.paused):
            conn.sudo().paused = True
            self.env["finance.connect.audit"]._log(conn, "connection_paused")
        return True

    def action_resume(self):
        """Send this connection's held work again, oldest first (managers). Audited.
        On a neutralized copy only "Resume on this copy" resumes a connection."""
        self._check_manager_may_act()
        self._check_resume_on_copy({"paused": False})
        self._resume("connection_resumed")
        return True

    def _resume(self, audit_action, detail=""):
        """Unpause these connections (the caller checked the rights), audit each,
        and wake their queued work."""
        for conn in self.filtered("paused"):
            conn.sudo().paused = False
            self.env["finance.connect.audit"]._log(conn, audit_action, detail)
        self.env["finance.connect.delivery"]._wake_connections(self)

    def action_test_connection(self):
        """Call the counterparty once (GET base URL) and say how it went.

        Managers only (it sends the connection's credentials); the answer's
        status is shown, never its body (``finance.connect.http._test_connection``).
        """
        self.ensure_one()
        self._check_manager_may_act()
        if not self.base_url:
            raise UserError(self.env._("Set a base URL first."))
        return self.env["finance.connect.http"]._test_connection(self)

    # ------------------------------------------------------------------
    # Dashboard (figures of finance.connect.delivery)
    # ------------------------------------------------------------------

    def _compute_dashboard(self):
        values = self.env["finance.connect.delivery"]._get_dashboard_values(self)
        for conn, vals in zip(self, values, strict=True):
            conn.update(vals)

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_message_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_exceptions(self):
        """The open exceptions of this connection (the dashboard's count)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_exception_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"search_default_open": 1}
        return action

    def action_view_statistics(self):
        """Messages delivered and failed per day for this connection (a graph)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_delivery_report_action"
        )
        title = self.env._("%(conn)s: messages per day", conn=self.display_name)
        action.update(name=title, display_name=title)
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {
            "search_default_last_30_days": 1,
            "graph_measure": "__count",
            "graph_groupbys": ["at:day", "outcome"],
        }
        return action

    # ------------------------------------------------------------------
    # Queue jobs and cron of the engine (done by delivery and handler)
    # ------------------------------------------------------------------

    def _job_drain(self, shard, limit=DRAIN_BATCH):
        """Deliver the queued first attempts of one shard of this connection
        (``finance.connect.delivery._drain``)."""
        return self.env["finance.connect.delivery"]._drain(self, shard, limit)

    def _job_drain_inbound(self, limit=DRAIN_BATCH):
        """Process the first attempt of the messages received by this
        connection (``finance.connect.handler._drain``)."""
        return self.env["finance.connect.handler"]._drain(self, limit)

    @api.model
    def _cron_wake_queues(self, age_seconds=60):
        """Queue drains for messages queued longer than ``age_seconds`` without a
        job (``finance.connect.delivery._wake_queues``)."""
        return self.env["finance.connect.delivery"]._wake_queues(age_seconds)

    @api.model
    def _cron_check_degraded(self):
        """Switch to batch the connections whose circuit stayed open too long
        (``finance.connect.delivery._degrade_check``)."""
        return self.env["finance.connect.delivery"]._degrade_check()

    def _get_channel(self):
        """The queue_job channel of this connection, under its tier's channel:
        one slow system blocks no other, bulk work never takes critical capacity."""
        self.ensure_one()
        return f"root.finance_connect.{self.tier or 'standard'}.connection_{self.id}"

    def _get_outbound_url(self, path=None):
        self.ensure_one()
        if not self.base_url:
            raise UserError(self.env._("%(name)s has no base URL.", name=self.display_name))
        return self.base_url.rstrip("/") + "/" + (path or self.outbound_path or "").lstrip("/")

    # ------------------------------------------------------------------
    # Mapping: Odoo values to this system's codes
    # ------------------------------------------------------------------

    def _map_outbound_payload(self, event_type, payload):
        """Translate Odoo values of ``payload`` into this connection's codes
        with its mapping sets (``finance.connect.mapping._map_payload``).

        Returns the mapped payload; raises ``MappingMissing`` for an unmapped
        or ambiguous value (never a guess). EXTEND for more.
        """
        if event_type == "batch":
            return payload  # its items were mapped one by one when they were stored
        return self._get_mapping_sets()._map_payload(payload)

    def _get_mapping_sets(self):
        """The active mapping sets of this connection (read as superuser: the
        user posting an invoice need not see the configuration)."""
        self.ensure_one()
        return self.sudo().mapping_ids.filtered(
            lambda m: m.active and m.company_id == self.company_id
        )

    def _get_mapping_table(self):
        self.ensure_one()
        sets = self._get_mapping_sets()
        return sets._get_table() if sets else None

    def _map_value(self, mapping_type, value, direction="outbound", on_date=None):
        """Map one value with this connection's sets, for format addons
        (``finance.connect.mapping._map_value``): ``None`` when the
        connection maps nothing of ``mapping_type``, ``MappingMissing`` for an
        unmapped or ambiguous value."""
        self.ensure_one()
        return self._get_mapping_sets()._map_value(mapping_type, value, direction, on_date)
