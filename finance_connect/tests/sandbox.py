"""Sandbox counterparty for finance_connect: a bank / PSP / reporting endpoint.

A small HTTP server on loopback that plays the other side of the integration in
tests, benchmarks and the demo.  It receives Standard Webhooks deliveries
(``POST`` on any path), verifies their signatures, records them, and can be told
to misbehave (status codes, ``Retry-After``, delays, dropped connections), from
Python or over HTTP under ``/_sandbox/`` so that a separate Odoo process or a
shell can drive it.  It also serves canned documents on ``GET`` (statement
pulls) and sends signed webhooks to Odoo. Run as a script with
``--demo-statements IBAN:CURRENCY`` (as ``setup/start`` does for the demo bank
journal), it answers ``GET /statements`` with a statement of today.

Standard library only, plus the addon's :mod:`..lib.signing` module.  Pure
Python, no ORM import.  Secrets are never logged.  It lives with the tests (it
is no part of the addon's runtime code): the tests import it as
``odoo.addons.finance_connect.tests.sandbox``, ``setup/start`` and the
benchmarks run it as a script.

Control endpoints (JSON in, JSON out)::

    GET  /_sandbox/health     liveness and counters
    GET  /_sandbox/received   records without bodies (sizes, webhook ids, counts)
    GET  /_sandbox/faults     pending fault rules and the sticky default
    POST /_sandbox/faults     push a rule, or a list of rules; {"clear": true}
    POST /_sandbox/default    sticky default ({} turns it off)
    POST /_sandbox/pull       {"path", "body" (text), "content_type", "headers"}
    POST /_sandbox/reset      forget records, fault rules and the sticky default

Run standalone: ``python finance_connect/tests/sandbox.py --port 8070``.
"""

import argparse
import base64
import contextlib
import datetime
import http.server
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque

try:
    from ..lib import signing
except ImportError:  # run as a script: python finance_connect/tests/sandbox.py
    sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lib"))
    import signing

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_DELAY_SECONDS = 600.0
CONTROL_PREFIX = "/_sandbox/"
CORRELATION_HEADER = "X-Correlation-Id"
# Never shown by GET /_sandbox/received: credentials a client might send along.
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
FAULT_FIELDS = frozenset({"status", "times", "delay", "drop", "retry_after", "path", "body"})
DEFAULT_FIELDS = frozenset({"status", "delay", "drop", "retry_after", "body"})


class _FaultRule:
    """One queued misbehaviour; ``times`` uses left."""

    __slots__ = ("body", "delay", "drop", "path", "retry_after", "status", "times")

    def __init__(
        self,
        status=None,
        times=1,
        delay=0.0,
        drop=False,
        retry_after=None,
        path=None,
        body=None,
    ):
        if status is not None:
            if isinstance(status, bool) or not isinstance(status, int):
                raise TypeError("status must be an integer")
            if not 100 <= status <= 599:
                raise ValueError("status must be between 100 and 599")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise TypeError("delay must be a number of seconds")
        if not 0 <= delay <= MAX_DELAY_SECONDS:
            raise ValueError(f"delay must be between 0 and {MAX_DELAY_SECONDS:g}")
        if not isinstance(drop, bool):
            raise TypeError("drop must be a boolean")
        if retry_after is not None:
            if isinstance(retry_after, bool) or not isinstance(retry_after, int | float | str):
                raise TypeError("retry_after must be seconds or an HTTP date")
            retry_after = str(retry_after)
            if "\r" in retry_after or "\n" in retry_after:
                raise ValueError("retry_after must be a single line")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError("path must start with '/'")
        if body is not None and not isinstance(body, bytes | str | dict | list):
            raise TypeError("body must be bytes, text or JSON")
        self.status = status
        self.times = times
        self.delay = float(delay)
        self.drop = drop
        self.retry_after = retry_after
        self.path = path
        self.body = body

    def matches(self, path):
        return self.path is None or self.path == path

    def as_dict(self):
        body = self.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        return {
            "status": self.status,
            "times": self.times,
            "delay": self.delay,
            "drop": self.drop,
            "retry_after": self.retry_after,
            "path": self.path,
            "body": body,
        }


def _check_loopback(host):
    """Return (address, family) for a loopback ``host``; ValueError otherwise."""
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"sandbox binds to loopback only; {host!r} is not a loopback address"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"sandbox binds to loopback only; {host!r} is not a loopback address")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return str(address), family


def _json_bytes(payload):
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _body_bytes(body):
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return _json_bytes(body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook is never replayed to another address: 3xx comes back as is."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxy (the counterparty talks to a local Odoo), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox = None  # set by SandboxServer.start()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY every
    # keep-alive answer waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "finance-connect-sandbox/1.0"
    # Idle keep-alive connections give their thread back after this long.
    timeout = 30

    # ------------------------------------------------------------------
    # Plumbing
    # ------------------------------------------------------------------

    @property
    def sandbox(self):
        return self.server.sandbox

    def setup(self):
        res = super().setup()
        self.sandbox._track(self.connection, True)
        return res

    def finish(self):
        try:
            return super().finish()
        except OSError:  # the client went away first: nothing left to flush
            return None
        finally:
            self.sandbox._track(self.connection, False)

    def log_message(self, fmt, *args):  # pylint: disable=arguments-renamed
        if self.sandbox.verbose:
            _logger.info("%s - %s", self.address_string(), fmt % args)

    def log_error(self, fmt, *args):  # pylint: disable=arguments-renamed
        if self.sandbox.verbose:
            _logger.warning("%s - %s", self.address_string(), fmt % args)

    def _split_path(self):
        path, _sep, query = self.path.partition("?")
        return path, query

    def _correlation_id(self):
        value = self.headers.get(CORRELATION_HEADER)
        if not value:
            return None
        # Echo it back, but never let it break the response framing.
        value = value.replace("\r", "").replace("\n", "").strip()
        return value[:256] or None

    def _send(self, status, body=b"", content_type="application/json", headers=None):
        """Write one complete response; a client that went away is ignored."""
        if status < 200 or status in (204, 304):
            body = b""
        try:
            self.send_response(status)
            if body or status not in (204, 304):
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            correlation_id = self._correlation_id()
            if correlation_id:
                self.send_header(CORRELATION_HEADER, correlation_id)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            # Typically the client timed out during a delay fault.
            self.close_connection = True

    def _send_json(self, status, payload, headers=None):
        self._send(status, _json_bytes(payload), headers=headers)

    def _drop(self):
        """Close the socket without writing a single byte."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()

    def _read_body(self):
        """Return the request body, or None after answering an error."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._send_json(411, {"error": "chunked bodies are not supported"})
            return None
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send_json(400, {"error": "invalid Content-Length"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return None
        return body

    # ------------------------------------------------------------------
    # Verbs
    # ------------------------------------------------------------------

    def do_GET(self):
        path, _query = self._split_path()
        if self._read_body() is None:  # keep the connection in step
            return
        if path.startswith(CONTROL_PREFIX):
            self._control_get(path)
            return
        self._counterparty(path, b"")

    def do_POST(self):
        path, _query = self._split_path()
        body = self._read_body()
        if body is None:
            return
        if path.startswith(CONTROL_PREFIX):
            self._control_post(path, body)
            return
        self._counterparty(path, body)

    def do_PUT(self):
        self._refuse()

    do_PATCH = do_DELETE = do_PUT

    def _refuse(self):
        self.close_connection = True
        self._send_json(405, {"error": "method not allowed"}, {"Allow": "GET, POST"})

    # ------------------------------------------------------------------
    # Counterparty side
    # ------------------------------------------------------------------

    def _counterparty(self, path, body):
        sandbox = self.sandbox
        record = sandbox._new_record(self, path, body)
        rule = sandbox._take_fault(path)
        if rule is not None:
            record["fault"] = rule.as_dict()
            if rule.delay and sandbox._stopping.wait(rule.delay):
                record["status"] = None
                sandbox._store(record)
                self._drop()
                return
            if rule.drop:
                record["status"] = None
                sandbox._store(record)
                self._drop()
                return
            if rule.status is not None:
                self._answer_fault(record, rule)
                return
        if self.command == "GET":
            self._answer_pull(record, path, record["query"])
        else:
            self._answer_delivery(record)

    def _answer_fault(self, record, rule):
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = rule.retry_after
        body = _body_bytes(rule.body)
        if body is None:
            body = _json_bytes({"error": "sandbox fault", "status": rule.status})
        content_type = "application/json"
        if isinstance(rule.body, bytes | str):
            content_type = "text/plain; charset=utf-8"
        record["status"] = rule.status
        self.sandbox._store(record)
        self._send(rule.status, body, content_type=content_type, headers=headers)

    def _answer_pull(self, record, path, query=""):
        pull = self.sandbox._get_pull(path, query)
        if pull is None and path.rstrip("/") == "":
            # The service's root answers like a real API's health check, so a
            # "Test connection" on the base URL is green.
            record["status"] = 200
            self.sandbox._store(record)
            self._send_json(200, {"status": "ok", "service": "finance_connect sandbox"})
            return
        if pull is None:
            record["status"] = 404
            self.sandbox._store(record)
            self._send_json(404, {"error": "not found", "path": path})
            return
        payload, content_type, headers = pull
        record["status"] = 200
        self.sandbox._store(record)
        self._send(200, payload, content_type=content_type, headers=headers)

    def _answer_delivery(self, record):
        sandbox = self.sandbox
        if sandbox.verify and not record["verified"]:
            record["status"] = 401
            sandbox._store(record)
            self._send_json(401, {"error": record["error"]})
            return
        record["status"] = 200
        duplicate = sandbox._store(record)
        payload = {"received": record["webhook_id"], "status": "ok"}
        if duplicate:
            payload["duplicate"] = True
        self._send_json(200, payload)

    # ------------------------------------------------------------------
    # Control endpoints
    # ------------------------------------------------------------------

    def _control_get(self, path):
        sandbox = self.sandbox
        if path == CONTROL_PREFIX + "health":
            self._send_json(200, sandbox._health())
        elif path == CONTROL_PREFIX + "received":
            self._send_json(200, sandbox._summary())
        elif path == CONTROL_PREFIX + "faults":
            self._send_json(200, sandbox._faults_summary())
        else:
            self._send_json(404, {"error": "unknown control endpoint"})

    def _control_post(self, path, body):
        sandbox = self.sandbox
        name = path[len(CONTROL_PREFIX) :]
        if name == "reset":
            sandbox.reset()
            self._send_json(200, {"status": "ok"})
            return
        if name not in ("faults", "default", "pull"):
            self._send_json(404, {"error": "unknown control endpoint"})
            return
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            self._send_json(400, {"error": "body is not JSON"})
            return
        try:
            if name == "faults":
                result = self._control_faults(data)
            elif name == "default":
                result = self._control_default(data)
            else:
                result = self._control_pull(data)
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"error": str(exc)})
            return
        self._send_json(200, result)

    def _control_faults(self, data):
        sandbox = self.sandbox
        if isinstance(data, dict) and data.get("clear"):
            sandbox.clear_faults()
            return {"status": "ok", "pending": 0}
        rules = data if isinstance(data, list) else [data]
        checked = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise TypeError("a fault rule is a JSON object")
            unknown = set(rule) - FAULT_FIELDS
            if unknown:
                raise ValueError(f"unknown fault fields: {sorted(unknown)}")
            checked.append(_FaultRule(**rule))
        sandbox._push_faults(checked)
        return {"status": "ok", "pending": len(sandbox._faults_summary()["faults"])}

    def _control_default(self, data):
        if not isinstance(data, dict):
            raise TypeError("the default is a JSON object")
        unknown = set(data) - DEFAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown default fields: {sorted(unknown)}")
        self.sandbox.set_default(**data)
        return {"status": "ok", "default": self.sandbox._faults_summary()["default"]}

    def _control_pull(self, data):
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            raise TypeError('expected {"path": ..., "body": ..., "content_type": ...}')
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            body = _json_bytes(body)
        self.sandbox.set_pull(
            data["path"],
            body.encode() if isinstance(body, str) else body,
            data.get("content_type") or "application/json",
            data.get("headers"),
        )
        return {"status": "ok"}


class SandboxServer:
    """Loopback counterparty: receives, verifies, records, misbehaves on demand.

    ``secret`` is the Standard Webhooks secret ("whsec_..."), shared with Odoo;
    one is generated when none is given (read it from ``.secret``).  With
    ``verify`` off, unsigned or badly signed deliveries are accepted too; the
    record's ``verified`` still tells whether the signature was good.
    """

    def __init__(
        self,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        verify: bool = True,
        verbose: bool = False,
    ):
        self.host, self._family = _check_loopback(host)
        self.port = int(port)
        self.secret = secret or signing.generate_secret()
        try:  # refuse an unusable secret now rather than on every request
            signing.sign_headers(self.secret, "msg_check", b"", 0)
        except (TypeError, ValueError):
            raise ValueError("the webhook secret is not a valid whsec_ secret") from None
        self.verify = bool(verify)
        self.verbose = bool(verbose)
        self._lock = threading.Lock()
        self._records = []
        self._seen_ids = set()
        self._faults = deque()
        self._default = None
        self._pulls = {}
        self._connections = set()
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None

    def __repr__(self):
        state = self.url if self._httpd else "stopped"
        return f"<SandboxServer {state} verify={self.verify}>"

    # ------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------

    def start(self):
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        server_class = type("_SandboxHTTPServer", (_HTTPServer,), {"address_family": self._family})
        httpd = server_class((self.host, self.port), _Handler)
        httpd.sandbox = self
        self._stopping.clear()
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"fc-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, wake up delayed requests and close open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        if self._httpd is None:
            raise RuntimeError("sandbox is not started")
        host = f"[{self.host}]" if self._family == socket.AF_INET6 else self.host
        return f"http://{host}:{self.port}"

    def _track(self, conn, opened):
        with self._lock:
            if opened:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ------------------------------------------------------------------
    # Records
    # ------------------------------------------------------------------

    def _new_record(self, handler, path, body):
        headers = dict(handler.headers.items())
        webhook_id = handler.headers.get("webhook-id")
        verified, error = False, None
        if handler.command == "POST":
            verified, error = self._check_signature(handler.headers, body)
        return {
            "path": path,
            "query": handler._split_path()[1],
            "method": handler.command,
            "headers": headers,
            "body": body,
            "webhook_id": webhook_id,
            "verified": verified,
            "error": error,
            "status": None,
            "duplicate": False,
            "fault": None,
            "at": time.time(),
        }

    def _check_signature(self, headers, body):
        """Return (verified, reason); the secret itself is never reported."""
        try:
            signing.verify_standard(headers, body, secrets=(self.secret,))
        except signing.WebhookVerificationError as exc:
            return False, getattr(exc, "reason", None) or type(exc).__name__
        except ValueError:
            return False, "invalid"
        return True, None

    def _store(self, record):
        """Append a finished record; returns whether it is a 2xx duplicate."""
        with self._lock:
            webhook_id = record["webhook_id"]
            status = record["status"]
            if (
                record["method"] == "POST"
                and webhook_id
                and status is not None
                and 200 <= status < 300
            ):
                record["duplicate"] = webhook_id in self._seen_ids
                self._seen_ids.add(webhook_id)
            self._records.append(record)
            return record["duplicate"]

    def received(self):
        """Copy of every record, in arrival order (bodies included)."""
        with self._lock:
            return [dict(record) for record in self._records]

    def deliveries(self, path=None):
        """POST records answered 2xx, optionally only those on ``path``."""
        return [
            record
            for record in self.received()
            if record["method"] == "POST"
            and record["status"] is not None
            and 200 <= record["status"] < 300
            and (path is None or record["path"] == path)
        ]

    def unique_webhook_ids(self):
        """Webhook ids of the 2xx deliveries, first-seen order, no repeats."""
        ids = []
        for record in self.deliveries():
            if record["webhook_id"] and record["webhook_id"] not in ids:
                ids.append(record["webhook_id"])
        return ids

    def reset(self):
        """Forget records, queued faults and the sticky default (pulls stay)."""
        with self._lock:
            self._records.clear()
            self._seen_ids.clear()
            self._faults.clear()
            self._default = None

    def _summary(self):
        records = self.received()
        items = []
        for record in records:
            headers = {
                name: ("***" if name.lower() in REDACTED_HEADERS else value)
                for name, value in record["headers"].items()
            }
            items.append(
                {
                    "path": record["path"],
                    "method": record["method"],
                    "headers": headers,
                    "size": len(record["body"]),
                    "webhook_id": record["webhook_id"],
                    "verified": record["verified"],
                    "error": record["error"],
                    "status": record["status"],
                    "duplicate": record["duplicate"],
                    "dropped": record["fault"] is not None and record["status"] is None,
                    "at": record["at"],
                }
            )
        delivered = [
            item
            for item in items
            if item["method"] == "POST"
            and item["status"] is not None
            and 200 <= item["status"] < 300
        ]
        unique = {item["webhook_id"] for item in delivered if item["webhook_id"]}
        return {
            "count": len(items),
            "delivered": len(delivered),
            "duplicates": sum(1 for item in delivered if item["duplicate"]),
            "unique_webhook_ids": len(unique),
            "received": items,
        }

    def _health(self):
        with self._lock:
            return {
                "status": "ok",
                "verify": self.verify,
                "received": len(self._records),
                "faults_pending": sum(rule.times for rule in self._faults),
                "default": self._default is not None,
            }

    # ------------------------------------------------------------------
    # Faults
    # ------------------------------------------------------------------

    def add_fault(
        self,
        status=None,
        times=1,
        delay=0.0,
        drop=False,
        retry_after=None,
        path=None,
        body=None,
    ):
        """Queue a rule; each matching request uses up one of its ``times``.

        Rules are consumed in order (FIFO): a request takes the first rule that
        matches its path (``path=None`` matches every path).  ``delay`` sleeps
        first, then ``drop`` closes the socket without a byte, else ``status``
        is answered (with ``Retry-After`` if given, ``body`` if given), else the
        request is handled normally.  Control endpoints are never faulted.
        """
        rule = _FaultRule(status, times, delay, drop, retry_after, path, body)
        self._push_faults([rule])
        return self

    def _push_faults(self, rules):
        with self._lock:
            self._faults.extend(rules)

    def set_default(self, status=None, delay=0.0, drop=False, retry_after=None, body=None):
        """Sticky fault, applied when no queued rule matches; no args: off."""
        rule = _FaultRule(status, 1, delay, drop, retry_after, None, body)
        with self._lock:
            self._default = None if rule.as_dict() == _FaultRule().as_dict() else rule
        return self

    def clear_faults(self):
        """Drop every queued rule and the sticky default."""
        with self._lock:
            self._faults.clear()
            self._default = None

    def _take_fault(self, path):
        with self._lock:
            for rule in self._faults:
                if rule.matches(path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._faults.remove(rule)
                    return rule
            return self._default

    def _faults_summary(self):
        with self._lock:
            return {
                "faults": [rule.as_dict() for rule in self._faults],
                "default": self._default.as_dict() if self._default else None,
            }

    # ------------------------------------------------------------------
    # Pull documents (GET)
    # ------------------------------------------------------------------

    def set_pull(self, path, payload_bytes, content_type="application/json", headers=None):
        """Serve ``payload_bytes`` on ``GET path``; ``None`` removes the path.

        ``path`` may carry a query string (``/statements?cursor=c1``): a GET
        with exactly that query is answered with it rather than with the
        document of the bare path. ``headers`` are added to the answer (e.g.
        ``X-Next-Cursor``, ``ETag``, ``Content-Disposition``).
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("path must start with '/'")
        if path.startswith(CONTROL_PREFIX):
            raise ValueError(f"{CONTROL_PREFIX} is reserved")
        headers = dict(headers or {})
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("pull headers are text names and values")
            if any(c in name + value for c in "\r\n"):
                raise ValueError("pull headers must be single lines")
        with self._lock:
            if payload_bytes is None:
                self._pulls.pop(path, None)
            else:
                self._pulls[path] = (_body_bytes(payload_bytes), content_type, headers)
        return self

    def _get_pull(self, path, query=""):
        with self._lock:
            if query and f"{path}?{query}" in self._pulls:
                return self._pulls[f"{path}?{query}"]
            return self._pulls.get(path)

    # ------------------------------------------------------------------
    # Outgoing webhooks (counterparty -> Odoo)
    # ------------------------------------------------------------------

    def send_webhook(
        self,
        url,
        payload,
        secret=None,
        msg_id=None,
        timestamp=None,
        headers=None,
        content_type="application/json",
        timeout=10,
    ):
        """POST a signed Standard Webhooks delivery to ``url``.

        Returns ``(status, body_bytes, response_headers)``; HTTP error statuses
        are returned, not raised.  Connection errors and timeouts raise
        (``urllib.error.URLError`` / ``TimeoutError``).  Redirects are not
        followed and no proxy is used.
        """
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("send_webhook needs an http:// or https:// URL")
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps(payload, separators=(",", ":")).encode()
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        all_headers = {"Content-Type": content_type}
        all_headers.update(signing.sign_headers(secret or self.secret, msg_id, body, timestamp))
        all_headers.update(headers or {})
        # The scheme is checked above: no file:// or custom handlers.
        request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read(), exc.headers


DEMO_CAMT053 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>SANDBOX-{day}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>SANDBOX-{day}</Id><CreDtTm>{day}T18:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">1175.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
<Ntry><NtryRef>SANDBOX-{day}-1</NtryRef><Amt Ccy="{ccy}">1250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>SANDBOX-{day}-1</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Demo customer</Nm></Dbtr></RltdPties><RmtInf><Ustrd>Invoice payment</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><NtryRef>SANDBOX-{day}-2</NtryRef><Amt Ccy="{ccy}">74.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>SANDBOX-{day}-2</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Cdtr><Nm>Demo supplier</Nm></Cdtr></RltdPties><RmtInf><Ustrd>Bank charges</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""  # noqa: E501


def demo_statements_answer(iban, currency, day):
    """The pull answer the demo's bank connection gets at ``/statements``: one
    balancing camt.053 of two entries on ``day`` (ISO date) for ``iban``, in the
    JSON form of the pull contract (``finance_connect_bank/lib/pull.py``)."""
    content = DEMO_CAMT053.format(iban=iban, ccy=currency, day=day).encode()
    return json.dumps(
        {
            "files": [
                {
                    "id": f"sandbox-{iban}-{day}",
                    "name": f"sandbox-{day}.xml",
                    "content_base64": base64.b64encode(content).decode(),
                    "content_type": "application/xml",
                }
            ]
        }
    ).encode()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="finance_connect sandbox counterparty (loopback only)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument(
        "--secret",
        help="Standard Webhooks secret (default: $FC_SANDBOX_SECRET, else generated)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="accept deliveries whose signature does not verify",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--demo-statements",
        metavar="IBAN:CURRENCY",
        help="answer the statement pull (/statements) with a statement of today for "
        "this account, as the demo's bank connection expects",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    secret = args.secret or os.environ.get("FC_SANDBOX_SECRET")
    try:
        server = SandboxServer(
            secret=secret or None,
            host=args.host,
            port=args.port,
            verify=not args.no_verify,
            verbose=args.verbose,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if not secret:
        # Shown once, so that Odoo's connection can be configured with it.
        print(f"generated webhook secret: {server.secret}", flush=True)  # pylint: disable=print-used
    if args.demo_statements:
        iban, _sep, currency = args.demo_statements.partition(":")
        today = datetime.date.today().isoformat()
        server.set_pull("/statements", demo_statements_answer(iban, currency or "EUR", today))

    stop_event = threading.Event()

    def _on_signal(signum, frame):
        stop_event.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        server.start()
    except OSError as exc:
        print(  # pylint: disable=print-used
            f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    print(f"sandbox listening on {server.url}", flush=True)  # pylint: disable=print-used
    try:
        while not stop_event.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
