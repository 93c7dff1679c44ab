"""Delivery outcome policy: status classes, Retry-After, exponential backoff."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib.retry import (
    RETRYABLE_STATUSES,
    backoff_seconds,
    classify_status,
    parse_retry_after,
)
from odoo.tests import BaseCase, tagged

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@tagged("post_install", "-at_install")
class TestRetry(BaseCase):
    def test_classify_status(self):
        for status, outcome in [
            (200, "done"),
            (201, "done"),
            (204, "done"),
            (299, "done"),
            (408, "retry"),
            (425, "retry"),
            (429, "retry"),
            (500, "retry"),
            (502, "retry"),
            (503, "retry"),
            (504, "retry"),
            (599, "retry"),
            (100, "fail"),
            (301, "fail"),
            (304, "fail"),
            (400, "fail"),
            (401, "fail"),
            (403, "fail"),
            (404, "fail"),
            (409, "fail"),
            (422, "fail"),
            (600, "fail"),
        ]:
            with self.subTest(status=status, outcome=outcome):
                assert classify_status(status) == outcome

    def test_retryable_statuses_cover_all_5xx(self):
        assert set(range(500, 600)) <= RETRYABLE_STATUSES
        assert {408, 425, 429} <= RETRYABLE_STATUSES
        assert 400 not in RETRYABLE_STATUSES
        assert 200 not in RETRYABLE_STATUSES

    def test_parse_retry_after(self):
        for value, seconds in [
            ("120", 120.0),
            (" 0 ", 0.0),
            ("-5", 0.0),
            ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
            ("Wed, 21 Oct 2015 09:28:00 +0200", 0.0),
            ("Wed, 21 Oct 2015 07:38:00 +0000", 600.0),
            ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past
        ]:
            with self.subTest(value=value, seconds=seconds):
                assert parse_retry_after(value, now=NOW) == seconds

    def test_parse_retry_after_garbage(self):
        for value in [
            None,
            "",
            "   ",
            "soon",
            "1.5",
            "12abc",
            "Wed, 99 Foo 2015",
            "2015-10-21T07:28:30Z",
        ]:
            with self.subTest(value=value):
                assert parse_retry_after(value, now=NOW) is None

    def test_parse_retry_after_with_naive_now_and_default_now(self):
        naive = NOW.replace(tzinfo=None)
        assert parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now=naive) == 60.0
        future = datetime.now(UTC) + timedelta(hours=1)
        header = future.strftime("%a, %d %b %Y %H:%M:%S GMT")
        assert 3590 <= parse_retry_after(header) <= 3600

    def test_backoff_bounds_without_jitter_extremes(self):
        assert backoff_seconds(1, rand=lambda: 1.0) == 10
        assert backoff_seconds(1, rand=lambda: 0.0) == 5
        assert backoff_seconds(2, rand=lambda: 1.0) == 20
        assert backoff_seconds(4, rand=lambda: 1.0) == 80
        assert backoff_seconds(4, rand=lambda: 0.0) == 40
        assert backoff_seconds(20, rand=lambda: 1.0) == 3600
        assert backoff_seconds(10_000, rand=lambda: 0.0) == 1800
        assert backoff_seconds(3, base=1, cap=60, rand=lambda: 1.0) == 4

    def test_backoff_honours_retry_after_within_the_cap(self):
        assert backoff_seconds(1, retry_after=120, rand=lambda: 1.0) == 120
        assert backoff_seconds(5, retry_after=1, rand=lambda: 1.0) == 160
        assert backoff_seconds(1, retry_after=7200, rand=lambda: 1.0) == 3600
        assert backoff_seconds(1, retry_after=0.0, rand=lambda: 0.0) == 5

    def test_backoff_refuses_attempt_zero(self):
        with self.assertRaisesRegex(ValueError, "attempt starts at 1"):
            backoff_seconds(0)

    def test_backoff_uses_random_jitter_by_default(self):
        delays = {backoff_seconds(3) for _ in range(20)}
        assert all(20 <= d <= 40 for d in delays)
        assert len(delays) > 1

    @settings(max_examples=200, deadline=None, database=None)
    @given(
        attempt=st.integers(1, 200),
        jitter=st.floats(0, 1, exclude_max=True),
        retry_after=st.none() | st.floats(0, 10**6),
    )
    def test_property_backoff_is_bounded(self, attempt, jitter, retry_after):
        delay = backoff_seconds(attempt, retry_after=retry_after, rand=lambda: jitter)
        nominal = min(3600, 10 * 2 ** (attempt - 1))
        assert 0 < delay <= 3600
        assert delay >= nominal / 2
        if retry_after is not None:
            assert delay >= min(retry_after, 3600)
        else:
            assert delay <= nominal
