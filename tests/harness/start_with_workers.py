"""Production mode starts whole: ``setup/start`` with workers, a websocket opened, stopped.

Run by ``setup/test`` (``--db``: the test database, installed and current). With
``FC_WORKERS`` above 0, Odoo runs HTTP workers and a separate gevent process
that serves the websocket (the live bus: badges, notifications). That process
dies at start when gevent's own requirements cannot be resolved in the virtual
environment; nothing else notices. This smoke run:

1. starts ``setup/start`` with ``FC_WORKERS=2`` on free ports (its own process
   group), on the test database;
2. waits for the login page through the HTTP workers;
3. opens a websocket on the gevent port, subscribes, and waits for the server
   to keep it open (a dead gevent process refuses the connection);
4. stops everything and reads Odoo's log for a gevent start failure.

Exits 1, saying what failed, on any of these.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 300


def _free_port(span=4):
    """A port with the ``span - 1`` ports after it free too (gevent is http + 3)."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + span > 65535:
            continue
        try:
            for offset in range(span):
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no free run of ports on 127.0.0.1")


def _connect(url, origin, wait=60):
    """A websocket to ``url``, waiting for the gevent process (it starts after the
    HTTP workers, and is started again by the master when it dies)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return websocket.create_connection(url, origin=origin, timeout=10)
        except (OSError, websocket.WebSocketException):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    http_port, sandbox_port = _free_port(), _free_port(1)
    log = Path(tempfile.mkdtemp()) / "start.log"
    env = dict(
        os.environ,
        FC_DB=args.db,
        FC_WORKERS="2",
        FC_HTTP_PORT=str(http_port),
        FC_SANDBOX_PORT=str(sandbox_port),
        FC_LOG_LEVEL="info",
    )
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(REPO / "setup" / "start")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    problems = []
    try:
        base = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + START_TIMEOUT
        login = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                login = requests.get(f"{base}/web/login", timeout=5)
                if login.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        if not login or login.status_code != 200:
            problems.append(
                f"the login page did not answer within {START_TIMEOUT} s "
                f"(setup/start {'exited' if process.poll() is not None else 'still running'})"
            )
        else:
            gevent_port = http_port + 3
            try:
                ws = _connect(f"ws://127.0.0.1:{gevent_port}/websocket?version=18.0-3", base)
                ws.send(
                    json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
                )
                ws.ping()
                time.sleep(2)
                if not ws.connected:
                    problems.append("the websocket was closed by the server after subscribing")
                ws.close()
            except (OSError, websocket.WebSocketException) as exc:
                problems.append(f"no websocket on the gevent port {gevent_port}: {exc}")
    finally:
        _stop(process)
    text = log.read_text(errors="replace")
    for needle in ("DistributionNotFound", "Traceback"):
        if needle in text:
            at = text.index(needle)
            problems.append(f"Odoo's log shows {needle}: {text[max(0, at - 300) : at + 300]}")
    print(
        f"setup/start with 2 workers: {'OK' if not problems else 'FAILED'} "
        f"({time.perf_counter() - started:.1f} s; HTTP {http_port}, websocket {http_port + 3})"
    )
    for problem in problems:
        print(f"  {problem}")
    if problems:
        print(f"  log: {log}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
