"""All outbound HTTP of finance_connect goes through this one AbstractModel.

Every call has a timeout and TLS verification on; secrets travel only in
request headers and are never logged.
"""

import logging
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import requests

from odoo import api, models

_logger = logging.getLogger(__name__)

_local = threading.local()
MAX_RESPONSE_EXCERPT = 2000
#: Default cap on a response body read into memory (webhook acknowledgements,
#: OAuth2 tokens, test calls are small); callers that fetch files pass theirs.
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass
class HttpResult:
    """Outcome of one outbound request, whatever happened."""

    status: int = 0
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    latency_ms: float = 0.0
    error: str = ""
    error_kind: str = ""  # "", "timeout", "connection", "tls", "other"
    truncated: bool = False  # the body went over the cap: only its start was read

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
        connections come back with ``status`` 0 and ``error_kind`` set. The
        body is streamed and read up to ``max_bytes`` (decoded) bytes: past
        that, the connection is dropped and the result says ``truncated``.
        """
        started = time.monotonic()
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
            # A broken keep-alive connection must not poison the next call.
            _local.session = None
        except requests.RequestException as exc:
            kind, error = "other", f"Request failed: {type(exc).__name__}"
        _logger.info("finance_connect: %s %s failed: %s", method, url, error)
        return HttpResult(
            latency_ms=(time.monotonic() - started) * 1000, error=error, error_kind=kind
        )
