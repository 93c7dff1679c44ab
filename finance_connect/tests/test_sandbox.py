"""The sandbox counterparty, over real HTTP on loopback.

Each test starts a real ``SandboxServer`` on a free port and talks to it with
``requests``; nothing is mocked.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import uuid
from urllib.parse import urlsplit

import requests

from odoo.addons.finance_connect.lib import signing
from odoo.addons.finance_connect.tests import sandbox
from odoo.tests import BaseCase, tagged
from odoo.tests.common import HOST, _super_send

TIMEOUT = 5


def post_signed(srv, path, payload, secret=None, msg_id=None, headers=None):
    body = json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(signing.sign_headers(secret or srv.secret, msg_id, body))
    all_headers.update(headers or {})
    return requests.post(srv.url + path, data=body, headers=all_headers, timeout=TIMEOUT)


def post_signed_with_timeout(srv, timeout):
    body = b'{"n": 1}'
    headers = signing.sign_headers(srv.secret, f"msg_{uuid.uuid4().hex}", body)
    return requests.post(srv.url + "/events", data=body, headers=headers, timeout=timeout)


@tagged("post_install", "-at_install")
class TestSandbox(BaseCase):
    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Loopback requests keep their own timeout (BaseCase raises any under
        10 s to 10 s; the fault tests time the sandbox's delays against them);
        BaseCase refuses any other request, as for every test."""
        if urlsplit(r.url).hostname == HOST:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def _start_server(self):
        srv = sandbox.SandboxServer().start()
        self.addCleanup(srv.stop)
        return srv

    # ----------------------------------------------------------------------
    # Receiving
    # ----------------------------------------------------------------------

    def test_signed_post_is_accepted_and_recorded(self):
        server = self._start_server()
        response = post_signed(
            server,
            "/events",
            {"type": "payment.settled", "amount": "12.50"},
            msg_id="msg_one",
            headers={"X-Correlation-Id": "corr-42"},
        )

        assert response.status_code == 200
        assert response.json() == {"received": "msg_one", "status": "ok"}
        assert response.headers["X-Correlation-Id"] == "corr-42"
        [record] = server.received()
        assert record["path"] == "/events"
        assert record["method"] == "POST"
        assert record["webhook_id"] == "msg_one"
        assert record["verified"] is True
        assert record["status"] == 200
        assert record["duplicate"] is False
        assert json.loads(record["body"]) == {"type": "payment.settled", "amount": "12.50"}
        assert record["headers"]["X-Correlation-Id"] == "corr-42"
        assert abs(record["at"] - time.time()) < 60
        assert [r["webhook_id"] for r in server.deliveries("/events")] == ["msg_one"]
        assert server.deliveries("/statements") == []
        assert server.unique_webhook_ids() == ["msg_one"]

    def test_wrong_signature_is_refused_and_recorded_unverified(self):
        server = self._start_server()
        other_secret = signing.generate_secret()
        assert other_secret != server.secret

        response = post_signed(server, "/events", {"n": 1}, secret=other_secret)

        assert response.status_code == 401
        assert response.json()["error"]
        [record] = server.received()
        assert record["verified"] is False
        assert record["status"] == 401
        assert server.deliveries() == []
        assert server.unique_webhook_ids() == []

    def test_unsigned_post_is_refused_unless_verification_is_off(self):
        with sandbox.SandboxServer(verify=False) as lax:
            response = requests.post(lax.url + "/events", data=b"{}", timeout=TIMEOUT)
            assert response.status_code == 200
            [record] = lax.deliveries()
            assert record["verified"] is False
        with sandbox.SandboxServer() as strict:
            response = requests.post(strict.url + "/events", data=b"{}", timeout=TIMEOUT)
            assert response.status_code == 401
            assert strict.deliveries() == []

    def test_duplicate_webhook_id_is_answered_ok_and_flagged(self):
        server = self._start_server()
        first = post_signed(server, "/events", {"n": 1}, msg_id="msg_dup")
        second = post_signed(server, "/events", {"n": 1}, msg_id="msg_dup")

        assert first.status_code == second.status_code == 200
        assert "duplicate" not in first.json()
        assert second.json()["duplicate"] is True
        assert [r["duplicate"] for r in server.deliveries()] == [False, True]
        assert server.unique_webhook_ids() == ["msg_dup"]

    def test_body_over_the_limit_is_refused_with_413(self):
        server = self._start_server()
        with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as sock:
            sock.sendall(
                b"POST /events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: %d\r\n\r\n" % (sandbox.MAX_BODY_BYTES + 1)
            )
            status_line = sock.makefile("rb").readline()
        assert status_line.split()[1] == b"413"
        assert server.deliveries() == []

    # ----------------------------------------------------------------------
    # Faults
    # ----------------------------------------------------------------------

    def test_503_fault_twice_then_ok(self):
        server = self._start_server()
        server.add_fault(status=503, times=2)

        codes = [post_signed(server, "/events", {"n": i}).status_code for i in range(3)]

        assert codes == [503, 503, 200]
        assert [r["status"] for r in server.received()] == [503, 503, 200]
        assert len(server.deliveries()) == 1

    def test_429_fault_sends_retry_after(self):
        server = self._start_server()
        server.add_fault(status=429, retry_after=7)

        response = post_signed(server, "/events", {"n": 1})

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert post_signed(server, "/events", {"n": 2}).status_code == 200

    def test_fault_limited_to_a_path(self):
        server = self._start_server()
        server.add_fault(status=500, path="/statements")

        assert post_signed(server, "/events", {"n": 1}).status_code == 200
        assert post_signed(server, "/statements", {"n": 2}).status_code == 500
        assert post_signed(server, "/statements", {"n": 3}).status_code == 200

    def test_delay_fault_exceeds_client_timeout(self):
        server = self._start_server()
        server.add_fault(delay=1.0)

        with self.assertRaises(requests.Timeout):
            post_signed_with_timeout(server, timeout=0.2)

        # The rule was used up: the next delivery is answered at once.
        started = time.monotonic()
        assert post_signed(server, "/events", {"n": 2}).status_code == 200
        assert time.monotonic() - started < 0.5

    def test_drop_fault_closes_the_connection_without_a_response(self):
        server = self._start_server()
        server.add_fault(drop=True)

        with self.assertRaises(requests.ConnectionError):
            post_signed(server, "/events", {"n": 1})

        [record] = server.received()
        assert record["status"] is None
        assert server.deliveries() == []
        assert post_signed(server, "/events", {"n": 2}).status_code == 200

    def test_sticky_default_until_cleared(self):
        server = self._start_server()
        server.set_default(status=503)

        codes = [post_signed(server, "/events", {"n": i}).status_code for i in range(3)]
        server.clear_faults()
        codes.append(post_signed(server, "/events", {"n": 3}).status_code)

        assert codes == [503, 503, 503, 200]

    def test_faults_and_reset_over_http(self):
        server = self._start_server()
        control = server.url + "/_sandbox/"
        assert requests.get(control + "health", timeout=TIMEOUT).json()["status"] == "ok"

        rule = {"status": 503, "times": 2, "retry_after": 3}
        response = requests.post(control + "faults", json=rule, timeout=TIMEOUT)
        assert response.status_code == 200
        bad = requests.post(control + "faults", json={"status": "x"}, timeout=TIMEOUT)
        assert bad.status_code == 400
        unknown = requests.post(control + "faults", json={"sttaus": 1}, timeout=TIMEOUT)
        assert unknown.status_code == 400

        first = post_signed(server, "/events", {"n": 1})
        assert (first.status_code, first.headers["Retry-After"]) == (503, "3")
        assert post_signed(server, "/events", {"n": 2}).status_code == 503
        assert post_signed(server, "/events", {"n": 3}, msg_id="msg_3").status_code == 200

        summary = requests.get(control + "received", timeout=TIMEOUT).json()
        assert summary["count"] == 3
        assert summary["delivered"] == 1
        assert summary["unique_webhook_ids"] == 1
        assert [item["status"] for item in summary["received"]] == [503, 503, 200]
        last = summary["received"][-1]
        assert last["webhook_id"] == "msg_3"
        assert last["size"] == len(b'{"n": 3}')
        assert "body" not in last

        assert requests.post(control + "reset", timeout=TIMEOUT).status_code == 200
        assert server.received() == []
        summary = requests.get(control + "received", timeout=TIMEOUT).json()
        assert summary["count"] == 0

    # ----------------------------------------------------------------------
    # Pulls (GET)
    # ----------------------------------------------------------------------

    def test_get_serves_the_pull_map_and_404_otherwise(self):
        server = self._start_server()
        server.set_pull("/statements/latest", b"<Document/>", "application/xml")

        found = requests.get(server.url + "/statements/latest", timeout=TIMEOUT)
        missing = requests.get(server.url + "/statements/other", timeout=TIMEOUT)

        assert found.status_code == 200
        assert found.content == b"<Document/>"
        assert found.headers["Content-Type"] == "application/xml"
        assert missing.status_code == 404

    def test_pull_by_query_string_with_headers_and_the_query_recorded(self):
        server = self._start_server()
        server.set_pull("/statements", b'{"files": []}', headers={"X-Next-Cursor": "c1"})
        server.set_pull(
            "/statements?cursor=c1", b"<Document/>", "application/xml", {"ETag": '"e2"'}
        )

        first = requests.get(server.url + "/statements", timeout=TIMEOUT)
        second = requests.get(server.url + "/statements?cursor=c1", timeout=TIMEOUT)
        other = requests.get(server.url + "/statements?cursor=zz", timeout=TIMEOUT)

        assert (first.content, first.headers["X-Next-Cursor"]) == (b'{"files": []}', "c1")
        assert (second.content, second.headers["ETag"]) == (b"<Document/>", '"e2"')
        assert other.content == b'{"files": []}'  # unknown query: the bare path's document
        assert [r["query"] for r in server.received()] == ["", "cursor=c1", "cursor=zz"]
        with self.assertRaises(ValueError):
            server.set_pull("/statements", b"", headers={"X-Bad": "a\r\nInjected: 1"})

    # ----------------------------------------------------------------------
    # Outgoing webhooks
    # ----------------------------------------------------------------------

    def test_send_webhook_reaches_and_verifies_on_another_sandbox(self):
        server = self._start_server()
        with sandbox.SandboxServer(secret=server.secret) as odoo_side:
            status, body, headers = server.send_webhook(
                odoo_side.url + "/webhooks/bank",
                {"event": "statement.ready"},
                msg_id="msg_out",
                headers={"X-Correlation-Id": "corr-out"},
            )

            assert status == 200
            assert json.loads(body) == {"received": "msg_out", "status": "ok"}
            assert headers["X-Correlation-Id"] == "corr-out"
            [record] = odoo_side.deliveries("/webhooks/bank")
            assert record["verified"] is True
            assert json.loads(record["body"]) == {"event": "statement.ready"}
            assert record["headers"]["Content-Type"] == "application/json"

            # A wrong secret comes back as a status, not an exception.
            status, body, _headers = server.send_webhook(
                odoo_side.url + "/webhooks/bank",
                b"{}",
                secret=signing.generate_secret(),
            )
            assert status == 401
            assert json.loads(body)["error"]

    def test_send_webhook_raises_on_connection_error(self):
        server = self._start_server()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            free_port = sock.getsockname()[1]
        with self.assertRaises((urllib.error.URLError, ConnectionError)):
            server.send_webhook(f"http://127.0.0.1:{free_port}/x", {"n": 1}, timeout=2)

    # ----------------------------------------------------------------------
    # Binding and CLI
    # ----------------------------------------------------------------------

    def test_non_loopback_host_is_refused(self):
        for host in ["0.0.0.0", "192.0.2.10", "::", "example.com"]:
            with self.subTest(host=host):
                with self.assertRaisesRegex(ValueError, "loopback"):
                    sandbox.SandboxServer(host=host)

    def test_cli_serves_until_sigterm(self):
        env = dict(os.environ, FC_SANDBOX_SECRET=signing.generate_secret())
        proc = subprocess.Popen(
            [sys.executable, sandbox.__file__, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("sandbox listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1]
            health = requests.get(url + "/_sandbox/health", timeout=TIMEOUT)
            assert health.json()["verify"] is True
            assert env["FC_SANDBOX_SECRET"] not in health.text
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_unusable_secret_is_refused(self):
        with self.assertRaisesRegex(ValueError, "secret"):
            sandbox.SandboxServer(secret="not base64!")
