"""Fuzz run of the webhook verifiers and of the route (issue 4). Prints figures.

1. Verifiers, in process: ``verify_standard`` / ``verify_stripe`` and the body
   checks of ``lib.webhook_inbound`` on random headers, signatures, secrets,
   timestamps, bodies and content types (hypothesis). Prints inputs tried,
   exceptions other than the documented refusals (must be 0), and inputs
   accepted without a valid signature (must be 0).
2. The route, over loopback against a running Odoo: random tokens (valid,
   paused, unknown, odd), content types, header sets (missing, garbage,
   validly signed, Stripe-style), header values of any byte, bodies of any
   length and encoding, lying or missing Content-Length. Prints inputs tried,
   the answers, the 5xx count (must be 0) and the messages stored without a
   valid signature (must be 0).

Run through ``setup/bench-webhooks`` (or by hand against a running server with
``--base-url``, ``--conf`` and ``--db``).
"""

import argparse
import asyncio
import base64
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webhook_client import (
    create_connection,
    init_odoo,
    odoo_env,
    request_bytes,
    send_raw,
)

FUZZ_SETTINGS = {
    "deadline": None,
    "database": None,
    "derandomize": False,
    "suppress_health_check": list(HealthCheck),
}

CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/xml",
    "text/xml",
    "text/csv",
    "text/csv; charset=latin1",
    "text/csv; charset=utf-16",
    "application/octet-stream",
    "application/cloudevents+json",
    "text/plain",
    "multipart/form-data; boundary=zz",
    "application/x-www-form-urlencoded",
    "",
    "*/*",
    "application/json; charset=\x00",
    "ÿ/ÿ",
]

header_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "",
            " ",
            "v1,",
            "v1a,",
            "v1,=",
            "t=,v1=",
            "0",
            "-1",
            "99999999999999",
            "1e9",
            "v1,AAAA v1a,AAAA",
        ]
    ),
)

bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "event_type", "id", "data", "x"]), children, max_size=4
        ),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b"<?xml version='1.0'?><Document><a>1</a></Document>",
            b"<a>",
            b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
            b"\xef\xbb\xbf{}",
            b"[" * 50000,
            b"\x00" * 100,
            "name;amount\nMüller;1\n".encode("latin-1"),
        ]
    ),
)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["type", "event_type", "id", "data", "amount"]), children, max_size=4
    ),
    max_leaves=20,
)
#: (content type, body) pairs: mostly coherent, so that validly signed
#: requests get past the body check and are stored; "random" mixes anything.
COHERENT = {
    "json": st.tuples(
        st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "application/cloudevents+json"]
        ),
        json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    ),
    "xml": st.tuples(
        st.sampled_from(["application/xml", "text/xml", "application/vnd.iso20022+xml"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=50).map(
            lambda t: (
                "<?xml version='1.0'?><Document><Nm>"
                + t.replace("&", "&amp;").replace("<", "&lt;")
                + "</Nm></Document>"
            ).encode()
        ),
    ),
    "csv": st.tuples(
        st.sampled_from(["text/csv", "text/csv; charset=latin1", "text/csv; charset=utf-8"]),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
    "binary": st.tuples(st.just("application/octet-stream"), st.binary(max_size=600)),
    "random": st.tuples(st.sampled_from(CONTENT_TYPES) | header_text, bodies),
}


# ---------------------------------------------------------------------------
# 1. Verifiers in process
# ---------------------------------------------------------------------------


def _ascii_digits(text):
    """Digits 0-9 only, as the verifier reads a timestamp (``str.isdigit`` also
    accepts digits such as "¹" that ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def fuzz_verifiers(examples):
    from odoo.addons.finance_connect.lib import signing
    from odoo.addons.finance_connect.lib import webhook_inbound as inbound

    secret = signing.generate_secret(32)
    stats = Counter()

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(
        scheme=st.sampled_from(["standard", "stripe"]),
        sign=st.sampled_from(
            ["valid", "valid", "garbage", "none", "tampered_body", "other_secret"]
        ),
        msg_id=st.one_of(st.just("msg_fuzz"), header_text),
        timestamp=st.one_of(
            st.just("now"),
            st.just("now"),
            st.just("now"),
            st.integers(-(10**12), 10**13).map(str),
            header_text,
        ),
        extra=st.dictionaries(header_text, header_text, max_size=3),
        signature=header_text,
        body=bodies,
        secrets_=st.sampled_from([[secret], [], ["whsec_@@"], ["nope"], [secret, "x"]]),
        public_keys=st.sampled_from([[], ["whpk_AAAA"], [base64.b64encode(b"k" * 32).decode()]]),
        content_type=st.sampled_from(CONTENT_TYPES) | header_text,
    )
    def one(
        scheme, sign, msg_id, timestamp, extra, signature, body, secrets_, public_keys, content_type
    ):
        stats["inputs"] += 1
        now = int(time.time())
        ts = str(now) if timestamp == "now" else timestamp
        headers = dict(extra)
        valid = False
        if scheme == "standard":
            headers.update({"webhook-id": msg_id, "webhook-timestamp": ts})
            if sign == "valid" and secret in secrets_ and msg_id.strip() and _ascii_digits(ts):
                headers["webhook-signature"] = signing.sign_v1(secret, msg_id.strip(), ts, body)
                valid = abs(now - int(ts)) <= 300
            elif sign != "none":
                headers["webhook-signature"] = signature
            verifier = signing.verify_standard
        else:
            if sign == "valid" and secret in secrets_ and _ascii_digits(ts) and len(ts) <= 12:
                headers["Stripe-Signature"] = signing.sign_stripe(secret, body, int(ts))
                valid = abs(now - int(ts)) <= 300
            elif sign != "none":
                headers["Stripe-Signature"] = signature
            verifier = signing.verify_stripe
        checked_body = body + b"!" if sign == "tampered_body" else body
        try:
            verifier(
                headers,
                checked_body,
                secrets=secrets_,
                public_keys=public_keys,
                tolerance=300,
                now=now,
            )
            stats["accepted"] += 1
            if not valid:
                stats["accepted_without_valid_signature"] += 1
        except signing.WebhookVerificationError as exc:
            stats[f"refused:{exc.reason}"] += 1
        except ValueError:
            stats["refused:not_configured"] += 1
        except Exception as exc:
            stats["unexpected_exceptions"] += 1
            stats[f"unexpected:{type(exc).__name__}"] += 1
        try:
            kind, _media, charset = inbound.content_kind(content_type)
            inbound.decode_body(kind, body, charset)
            stats["body_ok"] += 1
        except inbound.InboundError:
            stats["body_refused"] += 1
        except Exception as exc:
            stats["unexpected_exceptions"] += 1
            stats[f"unexpected_body:{type(exc).__name__}"] += 1

    start = time.perf_counter()
    one()
    elapsed = time.perf_counter() - start
    print(f"\n== Fuzz 1: verifiers and body checks in process ({elapsed:.1f} s) ==")
    print(f"  inputs tried: {stats['inputs']}")
    print(
        f"  accepted: {stats['accepted']}, accepted without a valid signature: "
        f"{stats['accepted_without_valid_signature']} (must be 0)"
    )
    print(f"  unexpected exceptions: {stats['unexpected_exceptions']} (must be 0)")
    print(
        "  outcomes: "
        + ", ".join(
            f"{k}={v}"
            for k, v in sorted(stats.items())
            if k.startswith(("refused", "unexpected:", "unexpected_body", "body_"))
        )
    )
    return stats


# ---------------------------------------------------------------------------
# 2. The route over HTTP
# ---------------------------------------------------------------------------


def fuzz_route(args, host, port):
    from odoo.addons.finance_connect.lib import signing

    conn_id, token, secret = create_connection("Fuzz webhooks")
    stripe_id, stripe_token, stripe_secret = create_connection(
        "Fuzz stripe", webhook_verifier="stripe"
    )
    _paused_id, paused_token, _ps = create_connection("Fuzz paused", paused=True)
    small_id, small_token, small_secret = create_connection("Fuzz small", max_body_kib=1)
    tokens = {
        "valid": (token, secret, "standard"),
        "stripe": (stripe_token, stripe_secret, "stripe"),
        "small": (small_token, small_secret, "standard"),
        "paused": (paused_token, secret, "standard"),
    }
    signed_keys = set()  # idempotency keys the fuzzer signed validly
    attempts = {}  # key -> how it was sent (to explain a failure)
    stats = Counter()
    loop = asyncio.new_event_loop()

    @settings(max_examples=args.route_examples, **FUZZ_SETTINGS)
    @given(
        target=st.sampled_from(["valid", "valid", "stripe", "small", "paused", "unknown", "odd"]),
        odd_token=st.text(max_size=200),
        sign=st.sampled_from(
            [
                "valid",
                "valid",
                "garbage",
                "none",
                "stale",
                "tampered_body",
                "wrong_secret",
                "swap_scheme",
            ]
        ),
        shape=st.sampled_from(["json", "json", "xml", "csv", "binary", "random"]),
        data=st.data(),
        msg_id=st.one_of(
            st.just(""), header_text.filter(lambda s: "\r" not in s and "\n" not in s)
        ),
        garbage=st.dictionaries(
            st.sampled_from(
                [
                    "webhook-id",
                    "webhook-timestamp",
                    "webhook-signature",
                    "Stripe-Signature",
                    "X-Correlation-Id",
                    "X-Event-Type",
                    "Content-Encoding",
                    "Transfer-Encoding",
                    "Expect",
                    "X-Forwarded-For",
                ]
            ),
            st.binary(max_size=120).filter(lambda b: b"\r" not in b and b"\n" not in b),
            max_size=4,
        ),
        length=st.sampled_from(["exact", "exact", "exact", "missing", "short", "long"]),
        big=st.sampled_from([0, 0, 0, 0, 2048, 200_000]),
    )
    def one(target, odd_token, sign, shape, data, msg_id, garbage, length, big):
        content_type, body = data.draw(COHERENT[shape])
        if big:
            body = body + b" " * big
        if target == "unknown":
            tok, sec, scheme = "x" * 32, secret, "standard"
        elif target == "odd":
            tok, sec, scheme = odd_token, secret, "standard"
        else:
            tok, sec, scheme = tokens[target]
        headers = {"Content-Type": content_type}
        now = int(time.time())
        signed_body = body
        if sign == "swap_scheme":
            scheme = "stripe" if scheme == "standard" else "standard"
        if sign in ("valid", "stale", "tampered_body", "wrong_secret", "swap_scheme"):
            use_secret = signing.generate_secret() if sign == "wrong_secret" else sec
            ts = now - 400 if sign == "stale" else now
            mid = msg_id.strip() or "msg_" + uuid.uuid4().hex
            if scheme == "standard":
                try:
                    headers.update(signing.sign_headers(use_secret, mid, signed_body, ts))
                except ValueError:
                    pass
            else:
                headers["Stripe-Signature"] = signing.sign_stripe(use_secret, signed_body, ts)
            if sign == "tampered_body":
                body = body + b"!"
        for key, value in garbage.items():
            headers[key] = value
        # Garbage in a header the scheme reads breaks the signature.
        signature_headers = (
            {"webhook-id", "webhook-timestamp", "webhook-signature"}
            if scheme == "standard"
            else {"Stripe-Signature"}
        )
        if sign in ("valid", "stale", "tampered_body", "wrong_secret", "swap_scheme"):
            key = _store_key(mid if scheme == "standard" else _stripe_key(body), body)
            attempts.setdefault(key, []).append(
                (target, sign, scheme, length, sorted(garbage), content_type[:40])
            )
            if (
                sign == "valid"
                and target in ("valid", "stripe", "small")
                and not signature_headers & set(garbage)
            ):
                signed_keys.add(key)
        path = f"/finance_connect/webhook/{_quote(tok)}"
        data = request_bytes(
            host, port, "POST", path, body, headers, content_length=length == "exact"
        )
        if length in ("short", "long"):
            fake = len(body) - 5 if length == "short" else len(body) + 5
            data = data.replace(
                b"\r\n\r\n", f"\r\nContent-Length: {max(fake, 0)}\r\n\r\n".encode(), 1
            )
        status, _headers, response_body, _t = loop.run_until_complete(
            send_raw(host, port, data, timeout=30, half_close=True)
        )
        stats["inputs"] += 1
        stats[f"status:{status}"] += 1
        if status >= 500:
            stats["5xx"] += 1
            print(
                f"  5xx: {status} for target={target} sign={sign} "
                f"content_type={content_type!r} length={length}"
            )
        if b"Traceback" in response_body:
            stats["traceback"] += 1
        if status == -1:
            stats["no_answer"] += 1

    start = time.perf_counter()
    one()
    loop.close()
    elapsed = time.perf_counter() - start

    with odoo_env() as env:
        Message = env["finance.connect.message"].sudo().with_context(active_test=False)
        stored = Message.search(
            [("connection_id", "in", (conn_id, stripe_id, small_id)), ("direction", "=", "in")]
        )
        unsigned = stored.filtered(lambda m: m.idempotency_key not in signed_keys)
        for message in unsigned:
            print(
                f"  STORED WITHOUT A VALID SIGNATURE: {message.reference} key "
                f"{message.idempotency_key[:60]!r} sent as "
                f"{attempts.get(message.idempotency_key, 'never signed')}"
            )
        paused_msgs = Message.search_count([("connection_id", "=", _paused_id)])
        rejections = env["finance.connect.webhook.rejection"].search_count(
            [("connection_id", "in", (conn_id, stripe_id, small_id, _paused_id))]
        )
        exceptions = env["finance.connect.exception"].search_count(
            [
                ("connection_id", "in", (conn_id, stripe_id, small_id)),
                ("category", "=", "signature"),
            ]
        )
    print(f"\n== Fuzz 2: the route over HTTP ({elapsed:.1f} s) ==")
    print(f"  inputs tried: {stats['inputs']}")
    print(
        "  answers: "
        + ", ".join(
            f"{k.split(':')[1]}={v}" for k, v in sorted(stats.items()) if k.startswith("status:")
        )
    )
    print(
        f"  5xx answers: {stats['5xx']} (must be 0); tracebacks in bodies: "
        f"{stats['traceback']}; no answer at all: {stats['no_answer']}"
    )
    print(
        f"  messages stored: {len(stored)} (validly signed keys sent: {len(signed_keys)}); "
        f"stored without a valid signature: {len(unsigned)} (must be 0); "
        f"stored for the paused connection: {paused_msgs}"
    )
    print(f"  rejections counted: {rejections}; signature exceptions opened: {exceptions}")
    return stats


def _quote(token):
    from urllib.parse import quote

    return quote(token, safe="") or "%20"


def _stripe_key(body):
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    event_id = event.get("id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else ""


def _store_key(key, body):
    from odoo.addons.finance_connect.lib import webhook_inbound as inbound

    return inbound.idempotency_key(key, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--verifier-examples", type=int, default=20000)
    parser.add_argument("--route-examples", type=int, default=3000)
    args = parser.parse_args()
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    init_odoo(args.conf, args.db)
    host, port = args.base_url.removeprefix("http://").rstrip("/").split(":")
    fuzz_verifiers(args.verifier_examples)
    fuzz_route(args, host, int(port))


if __name__ == "__main__":
    main()
