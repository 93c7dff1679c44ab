"""OpenMetrics exposition of the integration log (pure: no ORM).

The model ``finance.connect.metrics`` reads aggregates with a few SQL queries
and hands them here as plain dictionaries; this module turns them into
``prometheus_client`` metric families, and encodes a registry the way the
scraper asks (OpenMetrics 1.0.0 or the Prometheus text format, chosen by
``prometheus_client.exposition.choose_encoder`` from the Accept header).

Attempt aggregates are kept as :class:`AttemptAggregate`: counts, latency sum
and the cumulative histogram buckets of :data:`LATENCY_BUCKETS`, so that a
rolled-up past and a live tail add up (:meth:`AttemptAggregate.add`).
"""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

PREFIX = "finance_connect_"

#: Upper bounds (seconds) of the delivery latency histogram's buckets.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: Label values of ``status_class``: the HTTP status class of an attempt, or
#: ``none`` when no HTTP answer came (timeout, connection error, inbound
#: processing).
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "none")

DIRECTIONS = ("out", "in")
CIRCUIT_STATES = ("closed", "open", "half_open")


def status_class(status):
    """``"2xx"`` for 204, ``"none"`` for no status (0, None or out of range)."""
    if isinstance(status, int) and 100 <= status <= 599:
        return f"{status // 100}xx"
    return "none"


@dataclass
class AttemptAggregate:
    """Attempts of one (connection, direction, status class)."""

    attempts: int = 0
    failures: int = 0
    observed: int = 0  # attempts with a measured latency
    latency_sum: float = 0.0  # seconds
    buckets: list = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))

    @classmethod
    def from_row(cls, attempts, failures, observed, latency_sum, buckets):
        return cls(
            int(attempts or 0),
            int(failures or 0),
            int(observed or 0),
            float(latency_sum or 0.0),
            [int(b or 0) for b in buckets],
        )

    def add(self, other):
        """Add ``other`` to this aggregate (in place) and return it."""
        if len(other.buckets) != len(self.buckets):
            raise ValueError("aggregates of different bucket layouts")
        self.attempts += other.attempts
        self.failures += other.failures
        self.observed += other.observed
        self.latency_sum += other.latency_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        return self

    def to_json(self):
        return {
            "attempts": self.attempts,
            "failures": self.failures,
            "observed": self.observed,
            "latency_sum": self.latency_sum,
            "buckets": list(self.buckets),
        }

    @classmethod
    def from_json(cls, data):
        data = data or {}
        return cls.from_row(
            data.get("attempts"),
            data.get("failures"),
            data.get("observed"),
            data.get("latency_sum"),
            data.get("buckets") or [0] * len(LATENCY_BUCKETS),
        )


def add_into(target, key, aggregate):
    """``target[key] += aggregate`` for a dict of :class:`AttemptAggregate`."""
    if key in target:
        target[key].add(aggregate)
    else:
        target[key] = AttemptAggregate.from_json(aggregate.to_json())
    return target


def histogram_buckets(aggregate):
    """``[(le, cumulative count), ..., ("+Inf", observed)]`` of an aggregate."""
    out = [
        (_le(bound), count) for bound, count in zip(LATENCY_BUCKETS, aggregate.buckets, strict=True)
    ]
    out.append(("+Inf", aggregate.observed))
    return out


def _le(bound):
    return repr(float(bound))


@dataclass
class Snapshot:
    """What one scrape of one company reads, as plain values.

    ``connections``: ``{id: name}`` of the connections (label values);
    ``active_connections``: ``{id: circuit state}`` of the active ones;
    ``message_counts``: ``{(connection id, direction, state): count}``;
    ``queue``: ``{(connection id, direction): (depth, oldest age in seconds)}``;
    ``attempts``: ``{(connection id, direction, status class): AttemptAggregate}``;
    ``exceptions``: ``{(connection id or None, category): open count}``;
    ``categories``: every exception category; ``states``: every message state;
    ``sla_category``: the category whose open exceptions are SLA breaches, or None.
    """

    connections: dict = field(default_factory=dict)
    active_connections: dict = field(default_factory=dict)
    message_counts: dict = field(default_factory=dict)
    queue: dict = field(default_factory=dict)
    attempts: dict = field(default_factory=dict)
    exceptions: dict = field(default_factory=dict)
    categories: tuple = ()
    states: tuple = ()
    sla_category: str = None


def _conn_labels(snapshot, connection_id):
    if not connection_id:
        return ["", ""]
    return [snapshot.connections.get(connection_id, ""), str(connection_id)]


CONN = ["connection", "connection_id"]


def message_families(snapshot):
    """Messages by state, queue depth and the age of the oldest queued message."""
    messages = GaugeMetricFamily(
        PREFIX + "messages",
        "Integration messages in the log, by state (archived ones included).",
        labels=[*CONN, "direction", "state"],
    )
    depth = GaugeMetricFamily(
        PREFIX + "queue_messages",
        "Messages waiting to be sent or processed (new, queued, sending, retrying).",
        labels=[*CONN, "direction"],
    )
    age = GaugeMetricFamily(
        PREFIX + "queue_oldest_age_seconds",
        "Age of the oldest waiting message (0 when none waits).",
        labels=[*CONN, "direction"],
        unit="seconds",
    )
    # Every active connection, and the archived ones that have messages.
    conn_ids = set(snapshot.active_connections) | {key[0] for key in snapshot.message_counts}
    for conn_id in sorted(conn_ids):
        for direction in DIRECTIONS:
            labels = [*_conn_labels(snapshot, conn_id), direction]
            for state in snapshot.states:
                count = snapshot.message_counts.get((conn_id, direction, state), 0)
                messages.add_metric([*labels, state], count)
            waiting, oldest = snapshot.queue.get((conn_id, direction), (0, 0.0))
            depth.add_metric(labels, waiting)
            age.add_metric(labels, round(max(oldest or 0.0, 0.0), 3))
    return [messages, depth, age]


def attempt_families(snapshot):
    """Attempts and failures by HTTP status class, and the latency histogram."""
    attempts = CounterMetricFamily(
        PREFIX + "attempts",
        "Delivery and processing attempts, by HTTP status class of the answer.",
        labels=[*CONN, "direction", "status_class"],
    )
    failures = CounterMetricFamily(
        PREFIX + "attempt_failures",
        "Attempts that did not succeed (will retry, or failed), by HTTP status class.",
        labels=[*CONN, "direction", "status_class"],
    )
    latency = HistogramMetricFamily(
        PREFIX + "delivery_latency_seconds",
        "Duration of the attempts' HTTP calls.",
        labels=[*CONN, "direction"],
        unit="seconds",
    )
    per_direction = {}
    for (conn_id, direction, klass), agg in sorted(snapshot.attempts.items()):
        labels = [*_conn_labels(snapshot, conn_id), direction]
        attempts.add_metric([*labels, klass], agg.attempts)
        failures.add_metric([*labels, klass], agg.failures)
        add_into(per_direction, (conn_id, direction), agg)
    for (conn_id, direction), agg in sorted(per_direction.items()):
        if agg.observed:
            latency.add_metric(
                [*_conn_labels(snapshot, conn_id), direction],
                histogram_buckets(agg),
                sum_value=round(agg.latency_sum, 6),
            )
    return [attempts, failures, latency]


def health_families(snapshot):
    """Circuit state, open exceptions by category and (when such a category
    exists) open SLA breaches."""
    circuit = GaugeMetricFamily(
        PREFIX + "circuit_state",
        "Circuit breaker of an active connection: 1 for its current state, 0 for the others.",
        labels=[*CONN, "state"],
    )
    for conn_id, current in sorted(snapshot.active_connections.items()):
        for state in CIRCUIT_STATES:
            circuit.add_metric([*_conn_labels(snapshot, conn_id), state], int(state == current))
    exceptions = GaugeMetricFamily(
        PREFIX + "exceptions_open",
        "Open (or in progress) exceptions in the inbox, by category.",
        labels=[*CONN, "category"],
    )
    keys = {
        (conn_id, cat) for conn_id in snapshot.active_connections for cat in snapshot.categories
    }
    keys |= set(snapshot.exceptions)
    for conn_id, category in sorted(keys, key=lambda k: (k[0] or 0, k[1])):
        exceptions.add_metric(
            [*_conn_labels(snapshot, conn_id), category],
            snapshot.exceptions.get((conn_id, category), 0),
        )
    families = [circuit, exceptions]
    if snapshot.sla_category:
        sla = GaugeMetricFamily(
            PREFIX + "sla_breaches_open",
            "Open exceptions of the SLA category.",
            labels=CONN,
        )
        conn_ids = set(snapshot.active_connections) | {
            conn_id for conn_id, cat in snapshot.exceptions if cat == snapshot.sla_category
        }
        for conn_id in sorted(conn_ids, key=lambda c: c or 0):
            sla.add_metric(
                _conn_labels(snapshot, conn_id),
                snapshot.exceptions.get((conn_id, snapshot.sla_category), 0),
            )
        families.append(sla)
    return families


def snapshot_families(snapshot):
    """Every family of the core's snapshot."""
    return message_families(snapshot) + attempt_families(snapshot) + health_families(snapshot)


class FamiliesCollector:
    """A ``prometheus_client`` custom collector: ``collect()`` calls ``read()``,
    which returns the metric families (read at scrape time)."""

    def __init__(self, read):
        self.read = read

    def collect(self):
        yield from self.read()


def encode(read, accept_header):
    """Encode the families that ``read()`` returns, in the format the Accept
    header asks for: ``(body bytes, content type)``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(read))
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
