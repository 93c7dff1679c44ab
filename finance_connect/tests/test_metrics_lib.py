"""The metrics exposition without the ORM: status classes, aggregates that
add up, and the families encoded in both formats and parsed back."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from odoo.addons.finance_connect.lib import metrics as m
from odoo.tests import BaseCase, tagged


def _aggregate(latencies, failures=0):
    """An aggregate of attempts that took ``latencies`` seconds."""
    buckets = [sum(1 for x in latencies if x <= bound) for bound in m.LATENCY_BUCKETS]
    return m.AttemptAggregate(len(latencies), failures, len(latencies), sum(latencies), buckets)


latencies = st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=10)


def _snapshot():
    return m.Snapshot(
        connections={7: "Bank A"},
        active_connections={7: "half_open"},
        message_counts={(7, "out", "done"): 5, (7, "out", "failed"): 1},
        queue={(7, "out"): (2, 12.5)},
        attempts={
            (7, "out", "2xx"): _aggregate([0.02, 0.3], 0),
            (7, "out", "5xx"): _aggregate([4.0], 1),
        },
        exceptions={(7, "schema"): 3, (None, "other"): 1},
        categories=("schema", "other"),
        states=("queued", "done", "failed"),
    )


def _values(text, openmetrics):
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parse(text)
        for s in family.samples
    }


@tagged("post_install", "-at_install")
class TestMetricsLib(BaseCase):
    def test_status_class(self):
        cases = [(200, "2xx"), (204, "2xx"), (301, "3xx"), (429, "4xx"), (503, "5xx")]
        cases += [(101, "1xx"), (None, "none"), (0, "none"), (False, "none")]
        cases += [(99, "none"), (600, "none")]
        for status, klass in cases:
            with self.subTest(status=status):
                assert m.status_class(status) == klass

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(latencies, latencies)
    def test_folded_past_plus_tail_equals_the_whole(self, past, tail):
        whole = _aggregate(past + tail)
        added = m.AttemptAggregate.from_json(_aggregate(past).to_json()).add(_aggregate(tail))
        assert added.attempts == whole.attempts
        assert added.buckets == whole.buckets
        assert math.isclose(added.latency_sum, whole.latency_sum, rel_tol=1e-6, abs_tol=1e-9)

    def test_add_refuses_other_bucket_layouts(self):
        other = m.AttemptAggregate(buckets=[0, 0])
        with self.assertRaisesRegex(ValueError, "bucket layouts"):
            m.AttemptAggregate().add(other)

    def test_encoded_families_parse_back(self):
        for accept in ["application/openmetrics-text; version=1.0.0", None]:
            with self.subTest(accept=accept):
                self._encoded_families_parse_back(accept)

    def _encoded_families_parse_back(self, accept):
        body, content_type = m.encode(lambda: m.snapshot_families(_snapshot()), accept)
        openmetrics = content_type.startswith("application/openmetrics-text")
        assert openmetrics == bool(accept)
        values = _values(body.decode(), openmetrics)
        conn = (("connection", "Bank A"), ("connection_id", "7"))

        def get(name, **labels):
            return values[name, tuple(sorted(conn + tuple(labels.items())))]

        assert get("finance_connect_messages", direction="out", state="done") == 5
        assert get("finance_connect_messages", direction="in", state="queued") == 0
        assert get("finance_connect_queue_messages", direction="out") == 2
        assert get("finance_connect_queue_oldest_age_seconds", direction="out") == 12.5
        assert get("finance_connect_attempts_total", direction="out", status_class="5xx") == 1
        assert (
            get("finance_connect_attempt_failures_total", direction="out", status_class="2xx") == 0
        )
        histogram = "finance_connect_delivery_latency_seconds"
        assert get(histogram + "_count", direction="out") == 3
        assert math.isclose(get(histogram + "_sum", direction="out"), 4.32, rel_tol=1e-6)
        assert get(histogram + "_bucket", direction="out", le="0.025") == 1
        assert get(histogram + "_bucket", direction="out", le="0.5") == 2
        assert get(histogram + "_bucket", direction="out", le="+Inf") == 3
        assert get("finance_connect_circuit_state", state="half_open") == 1
        assert get("finance_connect_circuit_state", state="open") == 0
        assert get("finance_connect_exceptions_open", category="schema") == 3
        assert get("finance_connect_exceptions_open", category="other") == 0
        # An exception of no connection keeps empty connection labels.
        key = (("category", "other"), ("connection", ""), ("connection_id", ""))
        if openmetrics:  # empty label values are kept in OpenMetrics
            assert values["finance_connect_exceptions_open", key] == 1
        assert not [name for name, _labels in values if "sla" in name]

    def test_sla_breaches_only_with_an_sla_category(self):
        snapshot = _snapshot()
        snapshot.categories += ("sla",)
        snapshot.sla_category = "sla"
        snapshot.exceptions[7, "sla"] = 2
        body, _content_type = m.encode(lambda: m.snapshot_families(snapshot), None)
        values = _values(body.decode(), False)
        labels = (("connection", "Bank A"), ("connection_id", "7"))
        assert values["finance_connect_sla_breaches_open", labels] == 2
