"""Scraping ``/finance_connect/metrics`` in HttpCase tests.

``MetricsCase`` adds to :class:`TrustCase` (real HTTP, the roles, a second
company) a connection of its own with a known log: messages in several states,
attempts with several HTTP answers and latencies, open exceptions and an open
circuit, and helpers that scrape the route and read the exposition back with
``prometheus_client``'s own parsers.
"""

from datetime import timedelta

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .trust_common import TrustCase

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@tagged("post_install", "-at_install")
class MetricsCase(TrustCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.conn = cls._create_connection("Metrics bank", cls.company_a)
        cls.conn_b = cls._create_connection("Metrics bank B", cls.company_b)
        cls.env["finance.connect.metrics.token"].sudo().search([]).unlink()

    # ------------------------------------------------------------------
    # A known log
    # ------------------------------------------------------------------

    def make_message(self, conn, state, direction="out", **vals):
        Message = self.env["finance.connect.message"].sudo()
        return Message.create(
            Message._with_defaults(
                {
                    "direction": direction,
                    "connection_id": conn.id,
                    "event_type": "invoice.posted",
                    "idempotency_key": f"metrics-{Message._new_reference()}",
                    "payload": "{}",
                    "state": state,
                    **vals,
                }
            )
        )

    def make_attempt(self, message, status, latency_ms, outcome):
        return (
            self.env["finance.connect.message.attempt"]
            .sudo()
            .create(
                {
                    "message_id": message.id,
                    "http_status": status,
                    "latency_ms": latency_ms,
                    "outcome": outcome,
                }
            )
        )

    def make_log(self):
        """The log the value tests expect (see ``EXPECTED``)."""
        done = [self.make_message(self.conn, "done") for _ in range(3)]
        failed = [self.make_message(self.conn, "failed") for _ in range(2)]
        queued = self.make_message(self.conn, "queued")
        self.make_message(self.conn, "retrying")
        inbound = self.make_message(self.conn, "done", direction="in")
        for msg in done:
            self.make_attempt(msg, 200, 50.0, "done")
        for msg in failed:
            self.make_attempt(msg, 503, 1500.0, "fail")
        self.make_attempt(queued, False, 10000.0, "retry")  # a timeout: no HTTP answer
        self.env["finance.connect.message.attempt"].sudo().create(
            {"message_id": inbound.id, "outcome": "done"}  # inbound processing
        )
        Exc = self.env["finance.connect.exception"].sudo()
        for n in range(2):
            Exc._open("mapping", f"m{n}", "x", connection=self.conn, fingerprint=f"metrics-m{n}")
        resolved = Exc._open("remote_rejected", "r", "x", connection=self.conn, fingerprint="r")
        resolved.state = "resolved"
        self.conn.sudo().circuit_state = "open"
        # The oldest waiting message waits for an hour.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_message SET create_date = %s WHERE id = %s",
                fields.Datetime.now() - timedelta(hours=1),
                queued.id,
            )
        )
        self.env.invalidate_all()
        # A company B message, which company A's token never shows.
        self.make_message(self.conn_b, "failed")
        return queued

    # ------------------------------------------------------------------
    # Scraping
    # ------------------------------------------------------------------

    def issue_token(self, company=None):
        return self.env["finance.connect.metrics.token"]._issue_metrics_token(
            company or self.company_a
        )

    def scrape(self, token=None, accept=None, authorization=None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if authorization:
            headers["Authorization"] = authorization
        if accept:
            headers["Accept"] = accept
        return self.url_open("/finance_connect/metrics", headers=headers)

    def samples(self, response):
        """``{(sample name, frozenset(labels)): value}`` of an exposition, read
        with the parser of the format it was sent in."""
        text = response.text
        if response.headers["Content-Type"].startswith("application/openmetrics-text"):
            families = openmetrics_families(text)
        else:
            families = text_string_to_metric_families(text)
        out = {}
        for family in families:
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                self.assertNotIn(key, out, f"duplicate series {key}")
                out[key] = sample.value
        return out

    def value(self, samples, name, **labels):
        """The value of the one series ``name`` whose labels include ``labels``."""
        want = {k: str(v) for k, v in labels.items()}
        found = [
            value
            for (sample, sample_labels), value in samples.items()
            if sample == name and want.items() <= dict(sample_labels).items()
        ]
        self.assertEqual(len(found), 1, f"{name}{want}: {len(found)} series")
        return found[0]

    def series_of(self, samples, conn):
        return {key for key in samples if ("connection_id", str(conn.id)) in key[1]}
