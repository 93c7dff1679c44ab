"""All outbound HTTP of finance_connect goes through this one AbstractModel.

Every call has a timeout and TLS verification on; secrets travel only in
request headers and are never logged. No call goes to a loopback, private,
link-local or reserved address (checked after DNS resolution) unless an
administrator allowed its host in the system parameter
``finance_connect.outbound_allowed_hosts`` (``host`` or ``host:port`` entries,
comma-separated; only Settings administrators write system parameters).
"""

import logging
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import requests

from odoo import api, models

from ..lib import outbound_guard

_logger = logging.getLogger(__name__)

_local = threading.local()
MAX_RESPONSE_EXCERPT = 2000
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

    @property
    def ok(self):
        return 200 <= self.status < 300

    def excerpt(self):
        """Readable start of the response body or of the error."""
        if self.error:
            return self.error[:MAX_RESPONSE_EXCERPT]
        return self.body[:MAX_RESPONSE_EXCERPT].decode("utf-8", "replace")


def _session():
    """A per-thread requests session: keep-alive connections to each counterparty."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        # Proxy settings are read from the environment once per session, not
        # on every request (netrc is never consulted: auth is the connection's).
        session.trust_env = False
        session.proxies = urllib.request.getproxies()
    return session


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
    def _check_destination(self, url):
        """Why ``url`` may not be called now (DNS resolved), or ""."""
        problem = outbound_guard.check_url(url, self._get_allowed_hosts())
        if problem:
            return self.env._("Refused to call %(url)s: %(problem)s.", url=url, problem=problem)
        return ""

    @api.model
    def _request(self, method, url, *, data=None, headers=None, timeout=(5, 30), verify=True):
        """Perform one HTTP request and describe its outcome as an HttpResult.

        Never raises for network problems: timeouts, refused or dropped
        connections come back with ``status`` 0 and ``error_kind`` set; a
        destination that is refused (see the module docstring) comes back with
        ``error_kind`` "refused", without any connection made.
        """
        started = time.monotonic()
        refused = self._check_destination(url)
        if refused:
            _logger.warning("finance_connect: %s", refused)
            return HttpResult(error=refused + " " + self._allow_hint(), error_kind="refused")
        try:
            response = _session().request(
                method,
                url,
                data=data,
                headers=headers or {},
                timeout=timeout,
                verify=verify,
                allow_redirects=False,
            )
            body = response.content
            return HttpResult(
                status=response.status_code,
                headers=dict(response.headers),
                body=body,
                latency_ms=(time.monotonic() - started) * 1000,
            )
        except requests.Timeout as exc:
            kind, error = "timeout", f"Timed out after {timeout}s: {type(exc).__name__}"
        except requests.exceptions.SSLError:
            kind, error = "tls", "TLS verification failed"
        except requests.ConnectionError as exc:
            kind, error = "connection", f"Connection failed: {type(exc).__name__}"
            # A broken keep-alive connection must not poison the next call.
            _local.session = None
        except requests.RequestException as exc:
            kind, error = "other", f"Request failed: {type(exc).__name__}"
        _logger.info("finance_connect: %s %s failed: %s", method, url, error)
        return HttpResult(
            latency_ms=(time.monotonic() - started) * 1000, error=error, error_kind=kind
        )
