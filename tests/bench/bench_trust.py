"""Unauthenticated resource use (issue 13 item 8). Prints figures; asserts nothing.

1. XML guard (pure, always): about a megabyte of hostile prolog of several
   shapes (``<!DOCTYPE[`` repeated, lower case, with comments, an entity at
   the very end) through ``xmlsafe.parse_xml``; prints the outcome and the
   milliseconds of each, and, for scale, the old single-regex check on 80 KB.
2. Webhook route (with ``--base-url``, ``--conf`` and ``--db``, as
   ``setup/bench-webhooks`` passes them): sequential requests with an unknown
   token and a 1 MB body, and with a known token and a body over the
   connection's limit; prints the status codes, p50 / p90 / max milliseconds,
   and how many rejection rows the unknown-token requests cost.

    python tests/bench/bench_trust.py
    setup/bench-webhooks   # runs it against a live Odoo after the other benches
"""

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

OLD_ENTITY_DECL = re.compile(r"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.IGNORECASE | re.DOTALL)
MB = 1024 * 1024


def xml_guard():
    from odoo.addons.finance_connect.lib import xmlsafe

    shapes = {
        "<!DOCTYPE[ x 104857 (1 MB)": b"<!DOCTYPE[" * (MB // 10),
        "<!doctype a [ x 80659 (1 MB)": b"<!doctype a [" * (MB // 13),
        "DOCTYPE + comment ] (1 MB)": b"<!DOCTYPE a [ <!-- ] -->" * (MB // 24),
        "1 MB prolog, entity at the end": b"<!DOCTYPE[" * (MB // 10) + b'<!ENTITY x "y">]>',
        "valid 1 MB document": b"<a>" + b"<b>x</b>" * (MB // 8) + b"</a>",
    }
    print("1. XML guard: xmlsafe.parse_xml on hostile prologs")
    for name, body in shapes.items():
        start = time.perf_counter()
        try:
            xmlsafe.parse_xml(body + b"<a/>" if b"<a>" not in body else body, 2 * MB)
            outcome = "parsed"
        except ValueError as exc:
            outcome = f"{type(exc).__name__}: {str(exc)[:60]}"
        ms = (time.perf_counter() - start) * 1000
        print(f"   {name:<34} {len(body):>9} bytes  {ms:8.1f} ms  {outcome}")
    body = b"<!DOCTYPE[" * 8192
    start = time.perf_counter()
    OLD_ENTITY_DECL.search(body.decode("latin-1"))
    ms = (time.perf_counter() - start) * 1000
    print(f"   for scale, the old regex on {len(body)} bytes: {ms:.0f} ms (quadratic)")


async def _timed(host, port, path, body, count, **headers):
    from webhook_client import request_bytes, send_raw

    statuses, times = {}, []
    data = request_bytes(
        host, port, "POST", path, body, {"Content-Type": "application/json", **headers}
    )
    for _ in range(count):
        status, _headers, _body, seconds = await send_raw(host, port, data)
        statuses[status] = statuses.get(status, 0) + 1
        times.append(seconds * 1000)
    return statuses, times


def _line(name, statuses, times):
    from webhook_client import percentile

    print(
        f"   {name:<44} {statuses}  p50 {percentile(times, 50):6.1f} ms  "
        f"p90 {percentile(times, 90):6.1f} ms  max {max(times):6.1f} ms"
    )


def webhook_route(base_url, conf, db, count):
    from urllib.parse import urlsplit

    from webhook_client import create_connection, init_odoo, odoo_env

    init_odoo(conf, db)
    url = urlsplit(base_url)
    host, port = url.hostname, url.port
    _conn_id, token, _secret = create_connection("Bench trust", max_body_kib=64)

    def unknown_rows():
        with odoo_env() as env:
            return env["finance.connect.webhook.rejection"].search_count(
                [("reason", "=", "unknown_token")]
            )

    print(f"2. Webhook route at {base_url}: {count} sequential requests each")
    before = unknown_rows()
    big = b"{" + b" " * (MB - 2) + b"}"
    statuses, times = asyncio.run(
        _timed(host, port, "/finance_connect/webhook/" + "u" * 40, big, count)
    )
    _line("unknown token, 1 MB body", statuses, times)
    rows = unknown_rows() - before
    print(f"   rejection rows written for those {count} unknown-token requests: {rows}")
    statuses, times = asyncio.run(
        _timed(host, port, "/finance_connect/webhook/" + "u" * 40, b"{}", count)
    )
    _line("unknown token, 2-byte body", statuses, times)
    statuses, times = asyncio.run(
        _timed(host, port, f"/finance_connect/webhook/{token}", big, count)
    )
    _line("known token, 1 MB body over its 64 KiB limit", statuses, times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url")
    parser.add_argument("--conf")
    parser.add_argument("--db")
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    import odoo.addons

    repo = str(Path(__file__).resolve().parents[2])
    if repo not in odoo.addons.__path__:  # the pure modules, imported as Odoo does
        odoo.addons.__path__.append(repo)
    xml_guard()
    if args.base_url:
        webhook_route(args.base_url, args.conf, args.db, args.count)
    else:
        print("2. Webhook route: skipped (no --base-url; setup/bench-webhooks passes one)")


if __name__ == "__main__":
    main()
