"""Shared pieces of the webhook benchmark and fuzz scripts (issue 4).

- :func:`odoo_env`: a superuser environment on the benchmark database, to
  prepare connections and count what the server stored;
- :func:`create_connection`: a connection with a fresh webhook secret;
- :func:`send_raw` / :func:`request_bytes`: a minimal asyncio HTTP/1.1 client
  writing exact bytes over loopback (one connection per request,
  ``Connection: close``), so that the client costs little CPU next to the two
  Odoo workers and can send what ``requests`` refuses to.
"""

import asyncio
import secrets
import time
from contextlib import contextmanager

_ODOO = {}


def init_odoo(conf, db):
    import odoo

    odoo.tools.config.parse_config(["-c", conf, "-d", db, "--log-level=warn"])
    _ODOO["registry"] = odoo.modules.registry.Registry(db)
    return _ODOO["registry"]


@contextmanager
def odoo_env():
    """A superuser environment on a fresh cursor, committed on success."""
    from odoo import SUPERUSER_ID, api

    with _ODOO["registry"].cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def create_connection(name, **vals):
    """A committed connection with a new webhook secret: ``(id, token, secret)``."""
    from odoo.addons.finance_connect.lib import signing

    secret = signing.generate_secret(32)
    with odoo_env() as env:
        conn = env["finance.connect.connection"].create(
            {
                "name": f"{name} {secrets.token_hex(3)}",
                "kind": "psp",
                "rate_limit_per_minute": 0,  # no limit unless asked
                **vals,
            }
        )
        env["finance.connect.secret"]._store(conn, "webhook_secret", secret)
        return conn.id, conn._issue_webhook_token(), secret


def request_bytes(host, port, method, path, body=b"", headers=None, content_length=True):
    """The exact bytes of one HTTP/1.1 request."""
    lines = [
        f"{method} {path} HTTP/1.1".encode("latin-1", "replace"),
        f"Host: {host}:{port}".encode(),
    ]
    for key, value in (headers or {}).items():
        key = key if isinstance(key, bytes) else str(key).encode("latin-1", "replace")
        value = value if isinstance(value, bytes) else str(value).encode("latin-1", "replace")
        lines.append(key + b": " + value)
    if content_length:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_response(raw):
    """``(status, headers dict (lower-case), body)`` of a raw response; status 0
    when nothing parsable came back."""
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, {}, raw
    headers = {}
    for line in lines[1:]:
        key, _sep, value = line.partition(b":")
        headers[key.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return status, headers, body


async def send_raw(host, port, data, timeout=60, half_close=False):
    """Send ``data``, read the answer; ``(status, headers, body, seconds)``.

    ``half_close`` shuts the sending side after the request, so that a server
    waiting for bytes a lying Content-Length announced sees the end at once.
    """
    start = time.perf_counter()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(data)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        raw = await asyncio.wait_for(_read_response(reader), timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        return -1, {"error": type(exc).__name__}, b"", time.perf_counter() - start
    finally:
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
    status, headers, body = parse_response(raw)
    return status, headers, body, time.perf_counter() - start


async def _read_response(reader):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await reader.read(65536)
        if not chunk:
            return data
        data += chunk
    head, _sep, body = data.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        key, _sep, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                length = None
    while length is None or len(body) < length:
        chunk = await reader.read(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
