"""Posting signed webhooks to the real route in HttpCase tests.

``WebhookCase`` adds to :class:`FinanceConnectCase` the helpers that the core,
bank and reporting addons need to drive ``/finance_connect/webhook/<token>``
over loopback: signed headers (Standard Webhooks or Stripe), raw posts, and
running the jobs the route queued.

How HttpCase requests meet the test transaction: the HTTP server runs in a
thread of the test process and serves every request on a ``TestCursor`` over
the test's own cursor, one request at a time (a lock). ``url_open`` flushes
and clears the test's cache before each request, so records written by the
route are read fresh afterwards; nothing is committed. Queued jobs are trapped
(``trap_jobs`` patches queue_job process-wide, so the server thread's jobs are
trapped too) and are rebound to the test environment before they run, as the
request's cursor is closed by then.
"""

import json
import threading
import time
import uuid

import requests

from odoo.tests import HttpCase, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME

from ..lib import signing
from .common import FinanceConnectCase


@tagged("post_install", "-at_install")
class WebhookCase(FinanceConnectCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection.rate_limit_per_minute = 0

    # ------------------------------------------------------------------
    # Building requests
    # ------------------------------------------------------------------

    def setUp(self):
        super().setUp()
        self._webhook_tokens = {}

    def webhook_token(self, connection):
        """The webhook token of ``connection`` in clear: generated once per test
        (only its hash is stored, so it cannot be read back)."""
        if connection.id not in self._webhook_tokens:
            self._webhook_tokens[connection.id] = connection.sudo()._issue_webhook_token()
        return self._webhook_tokens[connection.id]

    def webhook_url(self, connection_or_token):
        token = connection_or_token
        if not isinstance(token, str):
            token = self.webhook_token(connection_or_token)
        return f"/finance_connect/webhook/{token}"

    def standard_headers(
        self,
        body,
        secret=None,
        msg_id=None,
        timestamp=None,
        content_type="application/json",
        **extra,
    ):
        """Standard Webhooks headers signing ``body`` (bytes) with ``secret``."""
        msg_id = msg_id or "msg_" + uuid.uuid4().hex
        headers = signing.sign_headers(
            secret or self.secret,
            msg_id,
            body,
            timestamp=int(time.time()) if timestamp is None else timestamp,
        )
        headers["Content-Type"] = content_type
        headers.update(extra)
        return headers

    def stripe_headers(self, body, secret, timestamp=None, content_type="application/json"):
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {
            "Stripe-Signature": signing.sign_stripe(secret, body, timestamp),
            "Content-Type": content_type,
        }

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    def post_raw(self, path, body, headers):
        """POST exactly ``body`` (even empty) and return the response."""
        self.env.flush_all()
        response = self.opener.post(self.base_url() + path, data=body, headers=headers, timeout=30)
        self.env.invalidate_all()
        return response

    def post_webhook(self, connection, payload=None, body=None, **header_kwargs):
        """Sign and POST a JSON ``payload`` (or raw ``body``) to ``connection``."""
        if body is None:
            body = signing_json(payload if payload is not None else {"type": "test.event"})
        headers = self.standard_headers(body, **header_kwargs)
        return self.post_raw(self.webhook_url(connection), body, headers)

    def post_concurrently(self, path, body, headers, count):
        """POST the same request from ``count`` threads at once; the responses."""
        # Warm the server up first: Odoo computes some lazy server-wide values
        # (static paths, parsed manifests) on the first request, and Python
        # 3.11's compiler is not safe when several threads do that at once.
        self.url_open("/finance_connect/ping")
        self.env.flush_all()
        barrier = threading.Barrier(count)
        responses = [None] * count
        url = self.base_url() + path
        cookies = {TEST_CURSOR_COOKIE_NAME: self.canonical_tag}

        def send(index):
            barrier.wait(timeout=10)
            responses[index] = requests.post(
                url, data=body, headers=headers, cookies=cookies, timeout=60
            )

        threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        self.env.invalidate_all()
        return responses

    # ------------------------------------------------------------------
    # Jobs and records
    # ------------------------------------------------------------------

    def perform_trapped(self, trap):
        """Run the jobs the route queued (rebound to the test environment)."""
        for job in trap.enqueued_jobs:
            job.recordset = job.recordset.with_env(self.env)
        self.perform_all(trap)

    def inbound_messages(self, connection=None):
        return (
            self.env["finance.connect.message"]
            .with_context(active_test=False)
            .search(
                [
                    ("direction", "=", "in"),
                    ("connection_id", "=", (connection or self.connection).id),
                ]
            )
        )

    def rejections(self, connection=None):
        return self.env["finance.connect.webhook.rejection"].search(
            [("connection_id", "=", (connection or self.connection).id)]
        )


def signing_json(payload):
    """Compact JSON bytes of ``payload``."""
    return json.dumps(payload, separators=(",", ":")).encode()
