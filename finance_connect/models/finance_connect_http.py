"""All outbound HTTP of finance_connect goes through this one AbstractModel.

Every call has a timeout and TLS verification on; secrets travel only in
request headers and are never logged. No call goes to a loopback, private,
link-local or reserved address (checked after DNS resolution) unless an
administrator allowed its host in the system parameter
``finance_connect.outbound_allowed_hosts`` (``host`` or ``host:port`` entries,
comma-separated; only Settings administrators write system parameters).
The address a direct connection reached is checked again once connected, so
that a name resolving differently the second time (DNS rebinding) gains nothing.

How a connection authenticates its calls is decided here too
(``_get_auth_headers``, ``_get_oauth_token``).
"""

import base64
import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib import outbound_guard

_logger = logging.getLogger(__name__)

_local = threading.local()
MAX_RESPONSE_EXCERPT = 2000
#: Default cap on a response body read into memory (webhook acknowledgements,
#: OAuth2 tokens, test calls are small); callers that fetch files pass theirs.
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
ALLOWED_HOSTS_PARAM = "finance_connect.outbound_allowed_hosts"


@dataclass
class HttpResult:
    """Outcome of one outbound request, whatever happened."""

    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    latency_ms: float = 0.0
    error: str = ""
    error_kind: str = ""  # "", "timeout", "connection", "tls", "refused", "other"
    truncated: bool = False  # the body went over the cap: only its start was read

    @property
    def ok(self):
        return 200 <= self.status < 300

    def excerpt(self):
        """Readable start of the response body or of the error."""
        if self.error:
            return self.error[:MAX_RESPONSE_EXCERPT]
        return self.body[:MAX_RESPONSE_EXCERPT].decode("utf-8", "replace")


def _check_peer(connection, sock):
    """Refuse a socket connected to a forbidden address, whatever the name
    resolved to when it was checked (DNS rebinding): the address checked here
    is the one actually connected to. Only for calls made by ``_request``,
    which sets the allow-list of the database for the duration of the call."""
    allowed = getattr(_local, "allowed_hosts", None)
    if allowed is None:
        return
    host = (connection.host or "").strip("[]").lower()
    if outbound_guard.is_allowed(host, connection.port, allowed):
        return
    peer = sock.getpeername()[0].split("%")[0]
    reason = outbound_guard.forbidden_reason(peer)
    if reason:
        sock.close()
        _local.refused = f"{host} connected to {reason} ({peer})"
        raise NewConnectionError(connection, "Refused: " + _local.refused)


class _GuardedHTTPConnection(HTTPConnectionPool.ConnectionCls):
    def _new_conn(self):
        sock = super()._new_conn()
        _check_peer(self, sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnectionPool.ConnectionCls):
    def _new_conn(self):
        sock = super()._new_conn()
        _check_peer(self, sock)
        return sock


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _session():
    """A per-thread requests session: keep-alive connections to each counterparty."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        # Proxy settings are read from the environment once per session, not
        # on every request (netrc is never consulted: auth is the connection's).
        session.trust_env = False
        session.proxies = urllib.request.getproxies()
        # Direct connections check the address they connected to (through a
        # proxy, the proxy resolves and connects).
        adapter = requests.adapters.HTTPAdapter()
        adapter.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def _read_capped(response, max_bytes):
    """``(body, truncated)``: at most ``max_bytes`` of the decoded body."""
    chunks, size = [], 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            chunks.append(chunk[: max_bytes - (size - len(chunk))])
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


class FinanceConnectHttp(models.AbstractModel):
    _name = "finance.connect.http"
    _description = "Finance Connect outbound HTTP"

    @api.model
    def _get_allowed_hosts(self):
        """The administrator's allow-list of otherwise refused hosts."""
        return outbound_guard.parse_allowed_hosts(
            self.env["ir.config_parameter"].sudo().get_param(ALLOWED_HOSTS_PARAM, "")
        )

    @api.model
    def _allow_hint(self):
        return self.env._(
            "An administrator may allow such a host explicitly in the system parameter "
            "%(param)s (host or host:port, comma-separated).",
            param=ALLOWED_HOSTS_PARAM,
        )

    @api.model
    def _check_saved_url(self, label, url):
        """Refuse (``UserError``) an outbound URL that names a loopback, private,
        link-local or reserved address literally, when a field ``label`` is
        saved; names are resolved and checked at each request."""
        problem = outbound_guard.check_url(url, self._get_allowed_hosts(), resolve_names=False)
        if problem:
            raise UserError(
                self.env._(
                    "%(field)s %(url)s is refused: %(problem)s.",
                    field=label,
                    url=url,
                    problem=problem,
                )
                + " "
                + self._allow_hint()
            )

    @api.model
    def _check_destination(self, url):
        """Why ``url`` may not be called now (DNS resolved), or ""."""
        problem = outbound_guard.check_url(url, self._get_allowed_hosts())
        if problem:
            return self.env._("Refused to call %(url)s: %(problem)s.", url=url, problem=problem)
        return ""

    @api.model
    def _request(
        self,
        method,
        url,
        *,
        data=None,
        headers=None,
        timeout=(5, 30),
        verify=True,
        max_bytes=DEFAULT_MAX_RESPONSE_BYTES,
    ):
        """Perform one HTTP request and describe its outcome as an HttpResult.

        Never raises for network problems: timeouts, refused or dropped
        connections come back with ``status`` 0 and ``error_kind`` set; a
        destination that is refused (see the module docstring) comes back with
        ``error_kind`` "refused", without any connection made. The body is
        streamed and read up to ``max_bytes`` (decoded) bytes: past that, the
        connection is dropped and the result says ``truncated``.
        """
        started = time.monotonic()
        refused = self._check_destination(url)
        if refused:
            _logger.warning("finance_connect: %s", refused)
            return HttpResult(error=refused + " " + self._allow_hint(), error_kind="refused")
        _local.allowed_hosts, _local.refused = self._get_allowed_hosts(), None
        try:
            response = _session().request(
                method,
                url,
                data=data,
                headers=headers or {},
                timeout=timeout,
                verify=verify,
                allow_redirects=False,
                stream=True,
            )
            with response:
                body, truncated = _read_capped(response, max_bytes)
            return HttpResult(
                status=response.status_code,
                headers=dict(response.headers),
                body=body,
                latency_ms=(time.monotonic() - started) * 1000,
                truncated=truncated,
            )
        except requests.Timeout as exc:
            kind, error = "timeout", f"Timed out after {timeout}s: {type(exc).__name__}"
        except requests.exceptions.SSLError:
            kind, error = "tls", "TLS verification failed"
        except requests.ConnectionError as exc:
            kind, error = "connection", f"Connection failed: {type(exc).__name__}"
            if _local.refused:
                kind = "refused"
                error = self.env._(
                    "Refused to call %(url)s: %(problem)s.", url=url, problem=_local.refused
                )
            # A broken keep-alive connection must not poison the next call.
            _local.session = None
        except requests.RequestException as exc:
            kind, error = "other", f"Request failed: {type(exc).__name__}"
        _logger.info("finance_connect: %s %s failed: %s", method, url, error)
        return HttpResult(
            latency_ms=(time.monotonic() - started) * 1000, error=error, error_kind=kind
        )

    @api.model
    def _get_auth_headers(self, connection):
        """Headers that authenticate a call to ``connection`` (its secrets are
        decrypted here only). Refused for a paused connection of a neutralized
        copy: production's credentials never leave a copy."""
        connection.ensure_one()
        if connection.paused and connection._is_neutralized_copy():
            raise UserError(
                self.env._(
                    "%(name)s is paused on a neutralized copy of production: its "
                    "credentials are not sent. An administrator points it at a test "
                    "endpoint and resumes it with Resume on this copy first.",
                    name=connection.display_name,
                )
            )
        if connection.auth_type == "api_key":
            return {connection.api_key_header or "X-API-Key": connection._get_secret("api_key")}
        if connection.auth_type == "bearer":
            return {"Authorization": f"Bearer {connection._get_secret('bearer_token')}"}
        if connection.auth_type == "basic":
            raw = f"{connection.basic_username or ''}:{connection._get_secret('basic_password')}"
            return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
        if connection.auth_type == "oauth2":
            return {"Authorization": f"Bearer {self._get_oauth_token(connection)}"}
        return {}

    @api.model
    def _get_oauth_token(self, connection):
        """An OAuth2 client-credentials access token of ``connection``, cached
        (encrypted) until shortly before it expires."""
        connection.ensure_one()
        now = fields.Datetime.now()
        expiry = connection.oauth_token_expiry
        if expiry and expiry > now + timedelta(seconds=30):
            token = connection._get_secret("oauth_access_token")
            if token:
                return token
        result = self._request(
            "POST",
            connection.oauth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": connection.oauth_client_id or "",
                "client_secret": connection._get_secret("oauth_client_secret"),
                **({"scope": connection.oauth_scope} if connection.oauth_scope else {}),
            },
            timeout=(connection.timeout_connect, connection.timeout_read),
            verify=connection.verify_tls,
        )
        if not result.ok:
            raise UserError(
                self.env._(
                    "The OAuth2 token request of %(name)s failed: %(status)s %(error)s",
                    name=connection.display_name,
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
        self.env["finance.connect.secret"]._store(connection, "oauth_access_token", token)
        connection.sudo().oauth_token_expiry = now + timedelta(seconds=lifetime)
        return token

    @api.model
    def _test_connection_verdict(self, connection, result):
        """What a test call's answer means for a person, and its colour: only
        an answer in 2xx/3xx is a success; a 404 says the URL is wrong, a
        401/403 that the credentials are refused, a 5xx that the server fails."""
        status = result.status
        url = connection.base_url
        if not status:
            return (
                self.env._("Could not reach %(url)s: %(error)s", url=url, error=result.error),
                "danger",
            )
        reached = self.env._(
            "%(url)s answered HTTP %(status)s in %(ms)d ms",
            url=url,
            status=status,
            ms=result.latency_ms,
        )
        if status < 400:
            return self.env._("%(reached)s: the connection works.", reached=reached), "success"
        if status in (401, 403):
            advice = self.env._(
                "the server refuses these credentials: check the authentication settings "
                "and the secret."
            )
            return f"{reached}: {advice}", "danger"
        if status == 404:
            advice = self.env._(
                "the server is reachable but knows no such address: check the base URL "
                "(a wrong or missing path?)."
            )
            return f"{reached}: {advice}", "warning"
        if status < 500:
            advice = self.env._("the server is reachable but refused the test call.")
            return f"{reached}: {advice}", "warning"
        advice = self.env._("the server is failing: try again later or ask its operator.")
        return f"{reached}: {advice}", "danger"

    def _test_connection(self, connection):
        """Call ``connection`` once (GET base URL, authenticated) and say how it
        went in a notification: the answer's status, never its body. A reachable
        counterparty closes the connection's circuit. The caller checked the
        rights."""
        result = self._request(
            "GET",
            connection.base_url,
            headers=self._get_auth_headers(connection),
            timeout=(connection.timeout_connect, connection.timeout_read),
            verify=connection.verify_tls,
        )
        reachable = bool(result.status) and result.status < 500
        if reachable:
            self.env["finance.connect.delivery"]._circuit_record_success(connection)
        message, kind = self._test_connection_verdict(connection, result)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Test connection"),
                "message": message,
                "type": kind,
                "sticky": False,
            },
        }
