"""A real Prometheus server scrapes the metrics endpoint.

Debian's ``prometheus`` (``/usr/bin/prometheus``, installed by the set-up) is
started on a free loopback port with a generated configuration that scrapes
this test's Odoo server (HttpCase serves on loopback) with the bearer token,
every second. While the test waits, the server's requests run on the test's
own cursor (HttpCase's test mode), so Prometheus reads what the test created,
uncommitted. The test then asks Prometheus' HTTP API (``/api/v1/query``) a
PromQL query over the scraped values.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from odoo.tests import tagged

from .metrics_common import MetricsCase

PROMETHEUS = "/usr/bin/prometheus"
WAIT_SECONDS = 90


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestMetricsPrometheus(MetricsCase):
    def start_prometheus(self, token):
        self.assertTrue(
            os.access(PROMETHEUS, os.X_OK),
            f"{PROMETHEUS} is missing: install Debian's prometheus package "
            "(setup/test and setup/start install it when run as root).",
        )
        workdir = tempfile.mkdtemp(prefix="fc-prometheus-")
        self.addCleanup(shutil.rmtree, workdir, True)
        port = _free_port()
        odoo = f"127.0.0.1:{self.http_port()}"
        config = {  # YAML is a superset of JSON
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    "job_name": "finance_connect",
                    "metrics_path": "/finance_connect/metrics",
                    "authorization": {"type": "Bearer", "credentials": token},
                    "static_configs": [{"targets": [odoo]}],
                }
            ],
        }
        path = os.path.join(workdir, "prometheus.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(config, handle)
        log = open(os.path.join(workdir, "prometheus.log"), "wb")
        self.addCleanup(log.close)
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={path}",
                f"--storage.tsdb.path={workdir}/data",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )

        def stop():
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

        self.addCleanup(stop)
        self.prometheus_log = os.path.join(workdir, "prometheus.log")
        return f"http://127.0.0.1:{port}"

    def query(self, base, promql):
        """The samples of an instant PromQL query: ``[(labels, value)]``."""
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        self.assertEqual(body["status"], "success", body)
        return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]

    def wait_for(self, base, promql):
        """Poll ``promql`` until Prometheus has scraped a value (or fail)."""
        deadline = time.monotonic() + WAIT_SECONDS
        last_error = None
        while time.monotonic() < deadline:
            try:
                result = self.query(base, promql)
                if result:
                    return result
            except OSError as exc:  # not listening yet
                last_error = exc
            time.sleep(0.5)
        with open(self.prometheus_log, encoding="utf-8", errors="replace") as handle:
            log = handle.read()[-3000:]
        targets = ""
        try:
            with urllib.request.urlopen(f"{base}/api/v1/targets", timeout=5) as answer:
                targets = answer.read().decode()[:3000]
        except OSError as exc:
            targets = str(exc)
        self.fail(
            f"Prometheus scraped nothing for {promql!r} in {WAIT_SECONDS}s "
            f"({last_error}); targets: {targets}; log: {log}"
        )

    def test_prometheus_scrapes_and_answers_promql(self):
        self.make_log()
        token = self.issue_token()
        self.env.flush_all()  # the server's requests read the test's cursor
        base = self.start_prometheus(token)
        conn = self.conn.id
        # The scrape itself succeeded with the token ...
        up = self.wait_for(base, 'up{job="finance_connect"} == 1')
        self.assertEqual(up[0][1], 1.0)
        # ... and PromQL computes over the values the test created.
        failure_ratio = self.wait_for(
            base,
            f'sum(finance_connect_attempt_failures_total{{connection_id="{conn}",direction="out"}})'
            f' / sum(finance_connect_attempts_total{{connection_id="{conn}",direction="out"}})',
        )
        self.assertAlmostEqual(failure_ratio[0][1], 3 / 6)
        failed = self.wait_for(
            base,
            f'finance_connect_messages{{connection_id="{conn}",direction="out",state="failed"}}',
        )
        self.assertEqual(failed[0][0]["connection"], "Metrics bank")
        self.assertEqual(failed[0][1], 2.0)
        p50 = self.wait_for(
            base,
            "histogram_quantile(0.5, sum by (le) (finance_connect_delivery_latency_seconds_bucket"
            f'{{connection_id="{conn}",direction="out"}}))',
        )
        # 3 of the 6 attempts took 50 ms: the median is in the bucket up to 0.05 s.
        self.assertLessEqual(p50[0][1], 0.05)
        self.assertGreater(p50[0][1], 0.025)
