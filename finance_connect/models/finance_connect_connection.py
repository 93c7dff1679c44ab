"""Connections to external systems: endpoint, authentication, secrets, health."""

import base64
import json
import secrets as pysecrets
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError

from ..lib import outbound_guard, signing
from ..lib.secretbox import mask
from ..lib.webhook_inbound import HARD_LIMIT_BYTES, hash_token
from .finance_connect_http import ALLOWED_HOSTS_PARAM

ADMIN_GROUP = "finance_connect.group_administrator"
MANAGER_GROUP = "finance_connect.group_manager"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

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
#: Fields whose change drops the webhook settings every worker caches
#: (``finance.connect.webhook.receiver._settings``).
WEBHOOK_SETTING_FIELDS = frozenset(
    {
        "webhook_token_hash",
        "active",
        "paused",
        "company_id",
        "webhook_verifier",
        "webhook_public_key",
        "webhook_tolerance",
        "max_body_kib",
        "rate_limit_per_minute",
        "webhook_previous_expiry",
        "webhook_secret",
    }
)

# Secret fields shown (masked) on the form: field name -> secret name.
SECRET_FIELDS = {
    "api_key": "api_key",
    "bearer_token": "bearer_token",
    "basic_password": "basic_password",
    "oauth_client_secret": "oauth_client_secret",
    "webhook_secret": "webhook_secret",
}
MASK_PREFIX = "••••"
DEMO_SANDBOX_URL = "http://127.0.0.1:8070"
DRAIN_BATCH = 100


def _is_loopback_url(url):
    """Whether ``url`` names this machine (where the sandbox counterparty runs)."""
    try:
        return urlsplit(url).hostname in LOOPBACK_HOSTS
    except ValueError:
        return False


class FinanceConnectConnection(models.Model):
    _name = "finance.connect.connection"
    _description = "Finance Connect connection"
    _inherit = ["mail.thread"]
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
    base_url = fields.Char(
        string="Base URL", tracking=True, help="Where outbound messages are sent."
    )
    outbound_path = fields.Char(default="/events", help="Path appended to the base URL.")
    verify_tls = fields.Boolean(string="Verify TLS", default=True)
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
        [("closed", "Closed"), ("open", "Open"), ("half_open", "Half-open (probing)")],
        default="closed",
        readonly=True,
        copy=False,
    )
    consecutive_failures = fields.Integer(readonly=True, copy=False)
    circuit_changed_at = fields.Datetime(readonly=True, copy=False)

    subscription_ids = fields.One2many("finance.connect.subscription", "connection_id")
    message_count = fields.Integer(compute="_compute_dashboard")
    exception_open_count = fields.Integer(compute="_compute_dashboard")

    # Dashboard
    dash_today_done = fields.Integer(compute="_compute_dashboard")
    dash_today_failed = fields.Integer(compute="_compute_dashboard")
    dash_today_retrying = fields.Integer(compute="_compute_dashboard")
    dash_queue_depth = fields.Integer(compute="_compute_dashboard")
    dash_failure_rate = fields.Float(compute="_compute_dashboard", string="Failure rate (%)")
    dash_last_success = fields.Datetime(compute="_compute_dashboard")
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
    # Secrets
    # ------------------------------------------------------------------

    def _compute_secrets(self):
        store = self.env["finance.connect.secret"].sudo()
        for conn in self:
            rows = store.search([("connection_id", "=", conn.id or 0)]) if conn.id else store
            present = {row.name: row for row in rows}
            for field_name, secret_name in SECRET_FIELDS.items():
                row = present.get(secret_name)
                conn[field_name] = self._masked(row) if row else False

    def _masked(self, row):
        """Masked form of a stored secret: its length is not revealed."""
        try:
            return mask(row._decrypt())
        except UserError:
            return MASK_PREFIX + "????"

    def _compute_fc_can_edit_trust(self):
        self.fc_can_edit_trust = self._is_fc_admin()

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
            value = conn[field_name]
            if value and value.startswith(MASK_PREFIX):
                continue  # the masked value came back unchanged
            if field_name == "webhook_secret" and value:
                try:
                    signing.decode_secret(value)
                except ValueError as exc:
                    raise UserError(
                        self.env._("A webhook secret is whsec_ followed by base64.")
                    ) from exc
            self.env["finance.connect.secret"]._store(conn, SECRET_FIELDS[field_name], value)
            self.env["finance.connect.audit"]._log(
                conn, "secret_set" if value else "secret_removed", SECRET_FIELDS[field_name]
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

    def _get_webhook_secrets(self):
        """Secrets that may sign an inbound webhook: current, then previous if valid."""
        self.ensure_one()
        result = [s for s in [self._get_secret("webhook_secret")] if s]
        if self.webhook_previous_expiry and self.webhook_previous_expiry > fields.Datetime.now():
            previous = self._get_secret("webhook_secret_previous")
            if previous:
                result.append(previous)
        return result

    def action_generate_webhook_secret(self):
        """Generate a new webhook secret; the old one keeps working for the grace period.

        The new secret is shown once, in a notification, so that it can be set
        at the counterparty; afterwards it is only ever shown masked.
        """
        self.ensure_one()
        self._check_secret_admin()
        self.check_access("write")
        Secret = self.env["finance.connect.secret"]
        current = self._get_secret("webhook_secret")
        expiry = False
        if current:
            expiry = fields.Datetime.now() + timedelta(hours=self.rotation_grace_hours)
            Secret._store(self, "webhook_secret_previous", current, expires_at=expiry)
        new_secret = signing.generate_secret(32)
        Secret._store(self, "webhook_secret", new_secret)
        self.sudo().webhook_previous_expiry = expiry
        self.env["finance.connect.audit"]._log(self, "webhook_secret_rotated")
        self.invalidate_recordset(["webhook_secret", "has_webhook_secret"])
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("New webhook secret (shown once)"),
                "message": new_secret,
                "sticky": True,
                "type": "warning",
            },
        }

    def action_regenerate_webhook_token(self):
        """Give the connection a new webhook URL; the old one stops working.

        Administrators only, on connections of their companies. The URL is
        shown once, in a notification; only its token's sha256 is stored.
        """
        self.ensure_one()
        self._check_admin_may_change()
        url = self._webhook_url_for(self._issue_webhook_token())
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("New webhook URL (shown once)"),
                "message": url,
                "sticky": True,
                "type": "warning",
            },
        }

    def _issue_webhook_token(self):
        """Generate a webhook token, store its hash, return it in clear (once).
        The caller has checked the rights."""
        self.ensure_one()
        token = pysecrets.token_urlsafe(32)
        self.sudo().webhook_token_hash = hash_token(token)
        self.env["finance.connect.audit"]._log(self, "webhook_token_regenerated")
        return token

    def _webhook_url_for(self, token):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        return f"{base}/finance_connect/webhook/{token}"

    @api.depends("webhook_token_hash")
    def _compute_webhook_url(self):
        hidden = self.env._("<token shown once, when generated>")
        for conn in self:
            conn.webhook_url = (
                self._webhook_url_for(hidden) if conn.sudo().webhook_token_hash else False
            )

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
                if self._fc_differs(name, defaults.get(name), vals[name])
            }
        else:
            changed = {
                name
                for name in guarded
                for conn in self
                if self._fc_differs(name, conn[name], vals[name])
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

    def _fc_differs(self, name, current, new):
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
        self._check_outbound_urls(vals)
        res = super().write(vals)
        if "mapping_ids" in vals:  # a newly assigned set may map waiting messages
            self.env["finance.connect.mapping"]._fc_invalidate_cache()
            self.sudo().mapping_ids._fc_after_lines_change()
        if WEBHOOK_SETTING_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()  # the webhook token index and settings
        return res

    @api.model
    def _get_outbound_url_fields(self):
        """Fields holding a URL that outbound calls go to. EXTEND."""
        return {"base_url", "oauth_token_url"}

    @api.model
    def _check_outbound_urls(self, vals):
        """Refuse, when saved, an outbound URL naming a loopback, private,
        link-local or reserved address literally (names are resolved and checked
        again at each request, ``finance.connect.http``)."""
        Http = self.env["finance.connect.http"]
        for name in sorted(self._get_outbound_url_fields().intersection(vals)):
            if not vals[name]:
                continue
            problem = outbound_guard.check_url(
                vals[name], Http._get_allowed_hosts(), resolve_names=False
            )
            if problem:
                raise UserError(
                    self.env._(
                        "%(field)s %(url)s is refused: %(problem)s.",
                        field=self._fields[name].string,
                        url=vals[name],
                        problem=problem,
                    )
                    + " "
                    + Http._allow_hint()
                )

    # ------------------------------------------------------------------
    # Outbound authentication
    # ------------------------------------------------------------------

    def _get_auth_headers(self):
        """Headers that authenticate an outbound call (secrets decrypted here only)."""
        self.ensure_one()
        if self.auth_type == "api_key":
            return {self.api_key_header or "X-API-Key": self._get_secret("api_key")}
        if self.auth_type == "bearer":
            return {"Authorization": f"Bearer {self._get_secret('bearer_token')}"}
        if self.auth_type == "basic":
            raw = f"{self.basic_username or ''}:{self._get_secret('basic_password')}"
            return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
        if self.auth_type == "oauth2":
            return {"Authorization": f"Bearer {self._get_oauth_token()}"}
        return {}

    def _get_oauth_token(self):
        """An OAuth2 client-credentials access token, cached until shortly before expiry."""
        self.ensure_one()
        now = fields.Datetime.now()
        if self.oauth_token_expiry and self.oauth_token_expiry > now + timedelta(seconds=30):
            token = self._get_secret("oauth_access_token")
            if token:
                return token
        result = self.env["finance.connect.http"]._request(
            "POST",
            self.oauth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.oauth_client_id or "",
                "client_secret": self._get_secret("oauth_client_secret"),
                **({"scope": self.oauth_scope} if self.oauth_scope else {}),
            },
            timeout=(self.timeout_connect, self.timeout_read),
            verify=self.verify_tls,
        )
        if not result.ok:
            raise UserError(
                self.env._(
                    "The OAuth2 token request of %(name)s failed: %(status)s %(error)s",
                    name=self.display_name,
                    status=result.status or "",
                    error=result.error or "",
                )
            )
        try:
            answer = json.loads(result.body)
            token = answer["access_token"]
            lifetime = int(answer.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(self.env._("The OAuth2 token answer was not understood.")) from exc
        self.env["finance.connect.secret"]._store(self, "oauth_access_token", token)
        self.sudo().oauth_token_expiry = now + timedelta(seconds=lifetime)
        return token

    # ------------------------------------------------------------------
    # Circuit breaker
    # ------------------------------------------------------------------

    def _circuit_allows_send(self):
        """Whether a send may go out now; an open circuit lets one probe through
        after its cool-down (half-open)."""
        self.ensure_one()
        if self.circuit_state == "closed":
            return True
        now = fields.Datetime.now()
        cooled = (self.circuit_changed_at or now) + timedelta(seconds=self.circuit_cooldown)
        if now < cooled:
            return False
        # Cool-down over (or a probe that never reported back): let one probe out.
        self.sudo().write({"circuit_state": "half_open", "circuit_changed_at": now})
        return True

    def _circuit_seconds_left(self):
        self.ensure_one()
        if not self.circuit_changed_at:
            return 0
        end = self.circuit_changed_at + timedelta(seconds=self.circuit_cooldown)
        return max(0, int((end - fields.Datetime.now()).total_seconds()) + 1)

    def _circuit_record_success(self):
        self.ensure_one()
        if self.circuit_state != "closed" or self.consecutive_failures:
            was_open = self.circuit_state != "closed"
            self.sudo().write(
                {
                    "circuit_state": "closed",
                    "consecutive_failures": 0,
                    "circuit_changed_at": fields.Datetime.now(),
                }
            )
            if was_open:
                self.env["finance.connect.audit"]._log(self, "circuit_closed")

    def _circuit_record_failure(self):
        self.ensure_one()
        failures = self.consecutive_failures + 1
        vals = {"consecutive_failures": failures}
        if self.circuit_state == "half_open" or (
            self.circuit_state == "closed" and failures >= self.circuit_threshold
        ):
            vals.update(circuit_state="open", circuit_changed_at=fields.Datetime.now())
            self.env["finance.connect.audit"]._log(
                self, "circuit_opened", f"{failures} consecutive failures"
            )
        self.sudo().write(vals)

    def action_reset_circuit(self):
        self._check_manager_may_act()
        for conn in self:
            conn._circuit_record_success()

    def action_test_connection(self):
        """Call the counterparty once (GET base URL) and say how it went.

        Managers only (it sends the connection's credentials); the answer's
        status is shown, never its body.
        """
        self.ensure_one()
        self._check_manager_may_act()
        if not self.base_url:
            raise UserError(self.env._("Set a base URL first."))
        result = self.env["finance.connect.http"]._request(
            "GET",
            self.base_url,
            headers=self._get_auth_headers(),
            timeout=(self.timeout_connect, self.timeout_read),
            verify=self.verify_tls,
        )
        reachable = bool(result.status) and result.status < 500
        if reachable:
            self._circuit_record_success()
        message = (
            self.env._(
                "Reached %(url)s: HTTP %(status)s in %(ms)d ms.",
                url=self.base_url,
                status=result.status,
                ms=result.latency_ms,
            )
            if result.status
            else self.env._(
                "Could not reach %(url)s: %(error)s", url=self.base_url, error=result.error
            )
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Test connection"),
                "message": message,
                "type": "success" if reachable else "danger",
                "sticky": False,
            },
        }

    # ------------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------------

    def _compute_dashboard(self):
        if not self.ids:
            for conn in self:
                conn.update(dict.fromkeys(self._dashboard_fields(), 0))
                conn.dash_last_success = False
            return
        self.env["finance.connect.message"].flush_model()
        self.env["finance.connect.message.attempt"].flush_model()
        cr = self.env.cr
        today = fields.Date.context_today(self)
        cr.execute(
            """
            SELECT connection_id,
                   count(*) FILTER (WHERE state = 'done' AND create_date >= %(today)s),
                   count(*) FILTER (WHERE state = 'failed' AND create_date >= %(today)s),
                   count(*) FILTER (WHERE state = 'retrying'),
                   count(*) FILTER (WHERE state IN ('new', 'queued', 'sending', 'retrying')),
                   count(*)
              FROM finance_connect_message
             WHERE connection_id IN %(ids)s
             GROUP BY connection_id
            """,
            {"ids": tuple(self.ids), "today": today},
        )
        counts = {row[0]: row[1:] for row in cr.fetchall()}
        cr.execute(
            """
            SELECT m.connection_id,
                   count(*) FILTER (WHERE a.outcome <> 'done')::float / nullif(count(*), 0),
                   max(a.at) FILTER (WHERE a.outcome = 'done'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY a.latency_ms),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY a.latency_ms)
              FROM finance_connect_message_attempt a
              JOIN finance_connect_message m ON m.id = a.message_id
             WHERE m.connection_id IN %(ids)s
               AND a.at >= now() at time zone 'utc' - interval '1 day'
             GROUP BY m.connection_id
            """,
            {"ids": tuple(self.ids)},
        )
        stats = {row[0]: row[1:] for row in cr.fetchall()}
        open_exc = dict(
            self.env["finance.connect.exception"]._read_group(
                [("connection_id", "in", self.ids), ("state", "in", ("open", "in_progress"))],
                ["connection_id"],
                ["__count"],
            )
        )
        for conn in self:
            done, failed, retrying, depth, total = counts.get(conn.id, (0, 0, 0, 0, 0))
            rate, last_ok, p50, p95 = stats.get(conn.id, (0, False, 0, 0))
            conn.update(
                {
                    "dash_today_done": done,
                    "dash_today_failed": failed,
                    "dash_today_retrying": retrying,
                    "dash_queue_depth": depth,
                    "message_count": total,
                    "dash_failure_rate": round((rate or 0) * 100, 1),
                    "dash_last_success": last_ok or False,
                    "dash_latency_p50": round(p50 or 0, 1),
                    "dash_latency_p95": round(p95 or 0, 1),
                    "exception_open_count": open_exc.get(conn, 0),
                }
            )

    def _dashboard_fields(self):
        return [
            "dash_today_done",
            "dash_today_failed",
            "dash_today_retrying",
            "dash_queue_depth",
            "message_count",
            "dash_failure_rate",
            "dash_latency_p50",
            "dash_latency_p95",
            "exception_open_count",
        ]

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_message_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finance_connect.finance_connect_exception_action"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # Helpers used by the engine
    # ------------------------------------------------------------------

    def _schedule_drain(self, shards):
        """Queue one drain job per shard (deduplicated while one is pending)."""
        self.ensure_one()
        for shard in sorted(shards):
            self.with_delay(
                channel=self._get_channel(),
                identity_key=f"finance_connect-drain-{self.id}-{shard}",
                max_retries=0,
                description=f"Deliver queued messages of {self.name} (shard {shard})",
            )._job_drain(shard)

    def _job_drain(self, shard, limit=DRAIN_BATCH):
        """Deliver the queued first attempts of one shard of this connection.

        Idempotent: messages are picked with ``FOR UPDATE SKIP LOCKED``, so
        two drains never send the same message, and a message already
        delivered is no longer queued. At most ``limit`` messages per job (a
        crashed job re-sends at most that many, with the same webhook-ids);
        a follow-up job is queued when more wait.
        """
        self.ensure_one()
        conn = self.sudo()
        if not conn.active or conn.paused:
            return "connection paused: the queued messages wait"
        if conn.circuit_state == "open" and not conn._circuit_allows_send():
            wait = conn._circuit_seconds_left()
            conn.with_delay(
                channel=conn._get_channel(),
                eta=max(wait, 1),
                max_retries=0,
                identity_key=f"finance_connect-drain-{conn.id}-{shard}",
            )._job_drain(shard)
            return f"circuit open: drain postponed {wait}s"
        Message = self.env["finance.connect.message"]
        Message.flush_model()
        self.env.cr.execute(
            """
            SELECT id FROM finance_connect_message
             WHERE connection_id = %s AND direction = 'out' AND state = 'queued'
               AND COALESCE(attempt_count, 0) = 0 AND batch_id IS NULL
               AND id %% %s = %s
             ORDER BY id
             LIMIT %s
               FOR UPDATE SKIP LOCKED
            """,
            (conn.id, max(1, conn.parallel_deliveries), shard, limit),
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        outcomes = {}
        for message in Message.sudo().browse(ids):
            outcome = message._job_send(1)
            key = outcome.split(":")[0]
            outcomes[key] = outcomes.get(key, 0) + 1
        if len(ids) == limit:
            conn._schedule_drain([shard])
        return f"{len(ids)} message(s): {outcomes}"

    def _schedule_inbound_drain(self):
        """Queue the job processing this connection's received messages, unless
        one is pending already (its identity key): a flood of webhooks costs one
        lookup each instead of one job each."""
        self.ensure_one()
        key = f"finance_connect-inbound-{self.id}"
        # The common case under load, answered by queue_job's partial index
        # without building a job (with_delay checks again when it does).
        self.env.cr.execute(
            "SELECT 1 FROM queue_job WHERE identity_key = %s"
            " AND state IN ('pending', 'enqueued') LIMIT 1",
            (key,),
        )
        if self.env.cr.fetchone():
            return None
        return (
            self.with_context(tracking_disable=True)
            .with_delay(
                channel=self._get_channel(),
                identity_key=key,
                max_retries=0,
                description=f"Process messages received from {self.name}",
            )
            ._job_drain_inbound()
        )

    def _job_drain_inbound(self, limit=DRAIN_BATCH):
        """Process the first attempt of the messages received by this connection.

        Idempotent like :meth:`_job_drain`: messages are picked with ``FOR UPDATE
        SKIP LOCKED`` and only while queued without a job of their own (replays
        and retries have one); each runs through its handler in a savepoint
        (``finance.connect.handler._dispatch``), so one failing message does not
        hold back the others. A follow-up job is queued when more wait.
        """
        self.ensure_one()
        Message = self.env["finance.connect.message"].sudo()
        Message.flush_model()
        self.env.cr.execute(
            """
            SELECT id FROM finance_connect_message
             WHERE connection_id = %s AND direction = 'in' AND state = 'queued'
               AND job_uuid IS NULL
             ORDER BY id
             LIMIT %s
               FOR UPDATE SKIP LOCKED
            """,
            (self.id, limit),
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        outcomes = {}
        for message in Message.browse(ids):
            key = (message._job_process() or "").split(":")[0]
            outcomes[key] = outcomes.get(key, 0) + 1
        if len(ids) == limit:
            self._schedule_inbound_drain()
        return f"{len(ids)} message(s): {outcomes}"

    @api.model
    def _cron_wake_queues(self, age_seconds=60):
        """Queue drains for messages queued longer than ``age_seconds`` without a job.

        A drain is not queued again while one is pending; a message stored just
        as the pending drain started (and read the queue) waits for the next
        message or for this cron: never lost, at most a minute late.
        """
        cr = self.env.cr
        self.env["finance.connect.message"].flush_model()
        cr.execute(
            """
            SELECT DISTINCT connection_id, direction
              FROM finance_connect_message
             WHERE state = 'queued'
               AND create_date < (now() at time zone 'utc') - %s * interval '1 second'
               AND ((direction = 'in' AND job_uuid IS NULL)
                 OR (direction = 'out' AND COALESCE(attempt_count, 0) = 0 AND batch_id IS NULL))
            """,
            (age_seconds,),
        )
        woken = 0
        for connection_id, direction in cr.fetchall():
            conn = self.sudo().browse(connection_id)
            if direction == "in":
                conn._schedule_inbound_drain()
            else:
                conn._schedule_drain(range(max(1, conn.parallel_deliveries)))
            woken += 1
        return woken

    def _map_outbound_payload(self, event_type, payload):
        """Translate Odoo values of ``payload`` into this connection's codes.

        Returns the mapped payload; raises ``MappingMissing`` for a value that
        has no mapping. EXTEND: the mapping engine overrides this.
        """
        return payload

    def _get_channel(self):
        """The queue_job channel of this connection: one slow system blocks no other."""
        self.ensure_one()
        return f"root.finance_connect.connection_{self.id}"

    def _get_outbound_url(self, path=None):
        self.ensure_one()
        if not self.base_url:
            raise UserError(self.env._("%(name)s has no base URL.", name=self.display_name))
        return self.base_url.rstrip("/") + "/" + (path or self.outbound_path or "").lstrip("/")

    # ------------------------------------------------------------------
    # Demo
    # ------------------------------------------------------------------

    @api.model
    def _demo_sandbox_setting(self, key):
        """``(value, demo connection)`` of server configuration ``key`` for the
        sandbox counterparty; the connection is empty when there is nothing to
        sync: no value, no demo connection, or a demo connection someone pointed
        at a real system (not a loopback address)."""
        value = tools.config.get(key)
        connection = self.env.ref(
            "finance_connect.demo_connection_sandbox", raise_if_not_found=False
        )
        if not value or not connection:
            return value, self.browse()
        if connection.base_url and not _is_loopback_url(connection.base_url):
            return value, self.browse()
        return value, connection

    @api.model
    def _demo_sync_sandbox_url(self):
        """Point the demo connection at the sandbox counterparty of the server
        configuration (``finance_connect_sandbox_url``): at install, and on every
        ``setup/start``, whose sandbox may listen on another port than last time.

        Only the demo connection, and only while it still points at a loopback
        address: a demo connection someone pointed at a real system is left
        alone. Returns the connection when its base URL changed.
        """
        url, connection = self._demo_sandbox_setting("finance_connect_sandbox_url")
        if not connection or connection.base_url == url:
            return self.browse()
        self._demo_allow_sandbox_host(url)
        connection.base_url = url
        return connection

    @api.model
    def _demo_allow_sandbox_host(self, url=None):
        """Allow outbound calls to the sandbox (a loopback address, refused
        otherwise): ``url``, by default the one of the server configuration
        (``finance_connect_sandbox_url``, written into odoo.conf by the
        administrator who runs it), else the demo's default port. Only that
        host and port are allowed."""
        url = url or tools.config.get("finance_connect_sandbox_url") or DEMO_SANDBOX_URL
        parts = urlsplit(url)
        if not parts.hostname or not _is_loopback_url(url):
            return
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        entry = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        params = self.env["ir.config_parameter"].sudo()
        current = params.get_param(ALLOWED_HOSTS_PARAM, "")
        entries = [e.strip() for e in current.split(",") if e.strip()]
        if entry not in entries:
            params.set_param(ALLOWED_HOSTS_PARAM, ",".join([*entries, entry]))

    @api.model
    def _demo_sync_sandbox_secret(self):
        """Give the demo connection the webhook secret of the sandbox counterparty
        (``finance_connect_sandbox_secret``, which ``setup/start`` also hands to the
        sandbox), so that the sandbox verifies the demo's signatures. Same rules as
        :meth:`_demo_sync_sandbox_url`; needs the encryption key. Returns the
        connection when its secret changed.
        """
        secret, connection = self._demo_sandbox_setting("finance_connect_sandbox_secret")
        if not connection:
            return self.browse()
        Secret = self.env["finance.connect.secret"]
        try:
            Secret._get_box()
        except UserError:
            return self.browse()  # no key configured: the demo runs without signatures
        try:
            current = Secret._reveal_uncached(connection, "webhook_secret")
        except UserError:  # stored with another key: replaced below
            current = None
        if current == secret:
            return self.browse()
        Secret._store(connection, "webhook_secret", secret)
        return connection

    @api.model
    def _demo_setup(self):
        """Demo data that XML cannot express: a second company with its chart of
        accounts, a bank journal with an IBAN, the sandbox URL from the server
        configuration and a webhook secret (when an encryption key is set)."""
        connection = self.env.ref("finance_connect.demo_connection_sandbox")
        # The sandbox runs on loopback, where outbound calls go only when allowed.
        self._demo_allow_sandbox_host()
        if not connection.base_url:
            connection.base_url = tools.config.get("finance_connect_sandbox_url") or (
                DEMO_SANDBOX_URL
            )
        self._demo_sync_sandbox_url()
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
        if not self._demo_sync_sandbox_secret() and not connection.has_webhook_secret:
            self.env["finance.connect.secret"]._store(
                connection, "webhook_secret", signing.generate_secret(32)
            )
