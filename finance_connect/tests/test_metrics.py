"""The OpenMetrics endpoint over real HTTP: the token, the exposition's values,
the rollup, and who may manage tokens (attacked over JSON-RPC)."""

from datetime import timedelta

from odoo.tests import tagged
from odoo.tools import SQL

from .metrics_common import OPENMETRICS, MetricsCase


@tagged("post_install", "-at_install")
class TestMetricsToken(MetricsCase):
    def test_no_token_is_refused_and_leaks_nothing(self):
        self.make_log()
        self.issue_token()
        for authorization in (None, "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer  "):
            with self.subTest(authorization=authorization):
                response = self.scrape(authorization=authorization)
                self.assertEqual(response.status_code, 401)
                self.assertIn("Bearer", response.headers["WWW-Authenticate"])
                self.assertEqual(response.text, "Unauthorized\n")

    def test_wrong_revoked_and_rotated_tokens_are_refused(self):
        self.make_log()
        token = self.issue_token()
        self.assertEqual(self.scrape(token).status_code, 200)
        for wrong in (token[:-1], token + "x", "x" * 200, "tok\u00e9n"):
            with self.subTest(wrong=wrong):
                response = self.scrape(authorization=f"Bearer {wrong}")
                self.assertEqual(response.status_code, 401)
                self.assertIn('error="invalid_token"', response.headers["WWW-Authenticate"])
                self.assertEqual(response.text, "Unauthorized\n")
        # Rotation: the new token works, the old one stops at once.
        record = self.env["finance.connect.metrics.token"].search(
            [("company_id", "=", self.company_a.id)]
        )
        answer = record.action_generate_metrics_token()
        new = answer["params"]["message"].split(": ", 1)[1].split("\n", 1)[0]
        self.assertEqual(self.scrape(token).status_code, 401)
        self.assertEqual(self.scrape(new).status_code, 200)
        # Revocation.
        record.action_revoke_metrics_token()
        self.assertEqual(self.scrape(new).status_code, 401)
        actions = self.env["finance.connect.audit"].search(
            [("res_model", "=", "finance.connect.metrics.token")]
        )
        self.assertEqual(
            sorted(actions.mapped("action")),
            ["metrics_token_issued", "metrics_token_issued", "metrics_token_revoked"],
        )

    def test_token_is_stored_hashed(self):
        token = self.issue_token()
        record = self.env["finance.connect.metrics.token"].search(
            [("company_id", "=", self.company_a.id)]
        )
        self.assertEqual(len(record), 1)
        self.assertNotIn(token, record.token_hash)
        self.assertEqual(len(record.token_hash), 64)

    def test_token_reads_its_company_only(self):
        self.make_log()
        token_b = self.issue_token(self.company_b)
        samples = self.samples(self.scrape(token_b))
        self.assertFalse(self.series_of(samples, self.conn))
        self.assertEqual(
            self.value(
                samples,
                "finance_connect_messages",
                connection_id=self.conn_b.id,
                direction="out",
                state="failed",
            ),
            1,
        )
        # An archived company's token reads nothing.
        self.company_b.sudo().active = False
        self.assertEqual(self.scrape(token_b).status_code, 401)


@tagged("post_install", "-at_install")
class TestMetricsValues(MetricsCase):
    def assert_same_values(self, before, after):
        """The same series and values, but for the age (time goes on)."""
        age = "finance_connect_queue_oldest_age_seconds"
        self.assertEqual(
            {k: v for k, v in after.items() if k[0] != age},
            {k: v for k, v in before.items() if k[0] != age},
        )

    def assert_expected(self, samples):
        conn = self.conn.id
        out = {"connection_id": conn, "direction": "out"}
        for state, count in (
            ("done", 3),
            ("failed", 2),
            ("queued", 1),
            ("retrying", 1),
            ("new", 0),
            ("cancelled", 0),
        ):
            self.assertEqual(
                self.value(samples, "finance_connect_messages", state=state, **out), count, state
            )
        self.assertEqual(
            self.value(
                samples,
                "finance_connect_messages",
                connection_id=conn,
                direction="in",
                state="done",
            ),
            1,
        )
        self.assertEqual(self.value(samples, "finance_connect_queue_messages", **out), 2)
        self.assertEqual(
            self.value(
                samples, "finance_connect_queue_messages", connection_id=conn, direction="in"
            ),
            0,
        )
        age = self.value(samples, "finance_connect_queue_oldest_age_seconds", **out)
        self.assertGreaterEqual(age, 3600)
        self.assertLess(age, 3600 + 900)
        attempts = {
            (labels["direction"], labels["status_class"]): value
            for (name, key), value in samples.items()
            for labels in [dict(key)]
            if name == "finance_connect_attempts_total" and labels["connection_id"] == str(conn)
        }
        self.assertEqual(
            attempts, {("out", "2xx"): 3, ("out", "5xx"): 2, ("out", "none"): 1, ("in", "none"): 1}
        )
        failures = {
            (labels["direction"], labels["status_class"]): value
            for (name, key), value in samples.items()
            for labels in [dict(key)]
            if name == "finance_connect_attempt_failures_total"
            and labels["connection_id"] == str(conn)
        }
        self.assertEqual(
            failures, {("out", "2xx"): 0, ("out", "5xx"): 2, ("out", "none"): 1, ("in", "none"): 0}
        )
        histogram = "finance_connect_delivery_latency_seconds"
        self.assertEqual(self.value(samples, histogram + "_count", **out), 6)
        self.assertAlmostEqual(self.value(samples, histogram + "_sum", **out), 13.15)
        for le, count in (("0.025", 0), ("0.05", 3), ("1.0", 3), ("2.5", 5), ("10.0", 6)):
            self.assertEqual(self.value(samples, histogram + "_bucket", le=le, **out), count, le)
        self.assertEqual(self.value(samples, histogram + "_bucket", le="+Inf", **out), 6)
        # Inbound processing has no HTTP call: no latency series.
        self.assertFalse(
            [
                key
                for key in samples
                if key[0].startswith(histogram)
                and ("connection_id", str(conn)) in key[1]
                and ("direction", "in") in key[1]
            ]
        )
        for state, flag in (("open", 1), ("closed", 0), ("half_open", 0)):
            self.assertEqual(
                self.value(
                    samples, "finance_connect_circuit_state", connection_id=conn, state=state
                ),
                flag,
            )
        for category, count in (("mapping", 2), ("remote_rejected", 0), ("schema", 0)):
            self.assertEqual(
                self.value(
                    samples,
                    "finance_connect_exceptions_open",
                    connection_id=conn,
                    category=category,
                ),
                count,
            )
        self.assertEqual(
            self.value(samples, "finance_connect_messages", state="done", **out),
            3,
        )
        # No SLA rule is breached: the SLA series of the connection says 0.
        self.assertEqual(
            self.value(samples, "finance_connect_sla_breaches_open", connection_id=conn), 0
        )
        # Labels carry the connection's name too.
        self.assertEqual(
            {dict(key[1])["connection"] for key in self.series_of(samples, self.conn)},
            {"Metrics bank"},
        )

    def test_openmetrics_values_equal_the_log(self):
        self.make_log()
        response = self.scrape(self.issue_token(), accept=OPENMETRICS)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(
            response.headers["Content-Type"].startswith(
                "application/openmetrics-text; version=1.0.0"
            ),
            response.headers["Content-Type"],
        )
        self.assertTrue(response.text.endswith("# EOF\n"))
        self.assertIn("# UNIT finance_connect_delivery_latency_seconds seconds", response.text)
        self.assert_expected(self.samples(response))

    def test_prometheus_text_format_values_equal_the_log(self):
        self.make_log()
        response = self.scrape(self.issue_token())
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertIn("# TYPE finance_connect_attempts_total counter", response.text)
        self.assert_expected(self.samples(response))

    def test_values_are_the_same_after_the_fold(self):
        """The rollup changes how the values are read, never what they are: the
        settled past is folded (here everything created until this
        transaction began), the tail since is read live."""
        self.make_log()
        token = self.issue_token()
        before = self.samples(self.scrape(token))
        Metrics = self.env["finance.connect.metrics"]
        # Half of the log is an hour old: folded; the rest stays in the tail.
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_message_attempt SET create_date = create_date - %s"
                " WHERE id IN (SELECT a.id FROM finance_connect_message_attempt a"
                " JOIN finance_connect_message m ON m.id = a.message_id"
                " WHERE m.connection_id = %s AND a.http_status = 200)",
                timedelta(hours=1),
                self.conn.id,
            )
        )
        self.env.cr.execute(
            SQL(
                "UPDATE finance_connect_message SET create_date = create_date - %s"
                " WHERE connection_id = %s AND state = 'done'",
                timedelta(hours=1),
                self.conn.id,
            )
        )
        horizon = self.env.cr.now().replace(microsecond=0) - timedelta(seconds=1)
        self.assertTrue(Metrics._metrics_fold(horizon))
        self.assertFalse(Metrics._metrics_fold(horizon), "nothing new to fold")
        rollup = self.env["finance.connect.metrics.rollup"].sudo()
        folded = rollup.search([("connection_id", "=", self.conn.id)])
        self.assertEqual(
            {(r.kind, r.direction, r.status_class or "") for r in folded},
            {("messages", "out", ""), ("messages", "in", ""), ("attempts", "out", "2xx")},
        )
        after = self.samples(self.scrape(token))
        self.assert_same_values(before, after)
        self.assert_expected(after)
        # A new attempt after the fold lands in the tail and is counted.
        self.make_attempt(self.make_message(self.conn, "done"), 204, 5.0, "done")
        again = self.samples(self.scrape(token))
        out = {"connection_id": self.conn.id, "direction": "out"}
        self.assertEqual(
            self.value(again, "finance_connect_attempts_total", status_class="2xx", **out), 4
        )
        self.assertEqual(self.value(again, "finance_connect_messages", state="done", **out), 4)

    def test_fold_cron_keeps_the_values(self):
        self.make_log()
        token = self.issue_token()
        before = self.samples(self.scrape(token))
        self.env["finance.connect.metrics"]._cron_fold_metrics()
        self.assertTrue(
            self.env["finance.connect.metrics.rollup"]
            .sudo()
            .search_count([("kind", "=", "attempts"), ("connection_id", "=", self.conn.id)])
        )
        after = self.samples(self.scrape(token))
        self.assert_same_values(before, after)
        self.assert_expected(after)

    def test_delivery_statistics_per_connection(self):
        self.make_log()
        report = self.env["finance.connect.delivery.report"]
        rows = report._read_group(
            [("connection_id", "=", self.conn.id), ("direction", "=", "out")],
            ["at:day"],
            ["__count", "delivered:sum", "failure_rate:avg", "latency_ms:avg"],
        )
        self.assertEqual(len(rows), 1)
        _day, count, delivered, failure_rate, latency = rows[0]
        self.assertEqual((count, delivered), (6, 3))
        self.assertAlmostEqual(failure_rate, 50.0)
        self.assertAlmostEqual(latency, 13150.0 / 6)
        # The dashboard's graph and pivot views (Finance Connect > Delivery statistics).
        action = self.env.ref("finance_connect.finance_connect_delivery_report_action")
        self.assertEqual(action.view_mode, "graph,pivot")
        views = report.get_views([(False, "graph"), (False, "pivot")])["views"]
        self.assertIn('name="at"', views["graph"]["arch"])
        self.assertIn('name="failure_rate"', views["pivot"]["arch"])


@tagged("post_install", "-at_install")
class TestMetricsTokenRights(MetricsCase):
    def test_only_administrators_generate_tokens(self):
        Token = self.env["finance.connect.metrics.token"].sudo()
        for role, user in self.roles.items():
            with self.subTest(role=role):
                answer = self.rpc(
                    user, "finance.connect.metrics.token", "action_generate_metrics_token", [[]]
                )
                self.assert_refused(answer)
                self.assertFalse(Token.search_count([]))
        self.assert_refused(
            self.rpc(
                self.manager_ab,
                "finance.connect.metrics.token",
                "action_generate_metrics_token",
                [[]],
            )
        )
        self.assertFalse(Token.search_count([]))

    def test_managers_neither_read_nor_revoke_tokens(self):
        self.issue_token()
        record = self.env["finance.connect.metrics.token"].sudo().search([])
        for role, user in dict(self.roles, manager_ab=self.manager_ab).items():
            with self.subTest(role=role):
                self.assert_refused(self.button(user, record, "action_revoke_metrics_token"))
                self.assert_refused(
                    self.rpc(
                        user, "finance.connect.metrics.token", "read", [record.ids, ["token_hash"]]
                    )
                )
                self.assert_refused(
                    self.rpc(
                        user,
                        "finance.connect.metrics.token",
                        "write",
                        [record.ids, {"token_hash": "0" * 64}],
                    )
                )
        self.assertEqual(record.exists(), record)

    def test_one_company_administrator_stays_in_their_company(self):
        admin_a = self.env["res.users"].create(
            {
                "name": "FC admin A",
                "login": "fc_metrics_admin_a",
                "password": "fc_metrics_admin_a",
                "company_id": self.company_a.id,
                "company_ids": [(6, 0, self.company_a.ids)],
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("finance_connect.group_administrator").id,
                            self.env.ref("base.group_user").id,
                        ],
                    )
                ],
            }
        )
        self.issue_token(self.company_b)
        record_b = (
            self.env["finance.connect.metrics.token"]
            .sudo()
            .search([("company_id", "=", self.company_b.id)])
        )
        hash_b = record_b.token_hash
        # Neither rotate nor revoke company B's token...
        self.assert_refused(self.button(admin_a, record_b, "action_generate_metrics_token"))
        self.assert_refused(self.button(admin_a, record_b, "action_revoke_metrics_token"))
        self.assert_refused(
            self.rpc(
                admin_a,
                "finance.connect.metrics.token",
                "action_generate_metrics_token",
                [[]],
                company_ids=[self.company_b.id],
            )
        )
        self.assertEqual(record_b.exists().token_hash, hash_b)
        # ...but generate their own company's.
        answer = self.rpc(
            admin_a, "finance.connect.metrics.token", "action_generate_metrics_token", [[]]
        )
        result = self.assert_ok(answer)
        self.assertIn("shown once", result["params"]["title"])
        token = result["params"]["message"].split(": ", 1)[1].split("\n", 1)[0]
        samples = self.samples(self.scrape(token))
        self.assertFalse(self.series_of(samples, self.conn_b))
        self.assertTrue(self.series_of(samples, self.conn))
