"""Screenshots of the product as a person sees it, for the docs and the notes.

Logs in to a running Odoo (``setup/start``) over HTTP, opens each page in
headless Chromium through the DevTools protocol and saves a PNG per page:
the dashboard, an exception and a message of the demo data.

    python tests/harness/screenshots.py --url http://127.0.0.1:8069 --db finance_connect \\
        --out docs/screenshots

It fails (exit 1), saying why, when a page cannot be reached or shows an error
dialog; it never leaves Chromium running.
"""

import argparse
import base64
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

REPO = Path(__file__).resolve().parents[2]
#: A real camt.053 (public corpus) whose account no demo journal has: its upload is
#: refused with an "Unknown bank account" exception, as a person would meet it.
UNKNOWN_ACCOUNT_FILE = (
    REPO.parent
    / "shared"
    / "fixtures"
    / "moov_iso20022"
    / "testdata"
    / "FI_camt_053_sample.xml.xml"
)

PAGES = (
    ("dashboard", "/odoo/action-finance_connect.finance_connect_connection_action_dashboard"),
    ("exception", "/odoo/action-finance_connect.finance_connect_exception_action/{exception}"),
    ("message", "/odoo/action-finance_connect.finance_connect_message_action/{message}"),
)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Devtools:
    """The few DevTools calls a screenshot needs."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            answer = json.loads(self.ws.recv())
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


def _rpc(session, url, model, method, args, kwargs=None):
    answer = session.post(
        f"{url}/web/dataset/call_kw/{model}/{method}",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        },
        timeout=30,
    ).json()
    if "error" in answer:
        raise RuntimeError(f"{model}.{method}: {answer['error']['data']['message']}")
    return answer["result"]


def _prepare(session, url):
    """Make sure there is something to show, the way a person would: a bank file
    uploaded by hand whose account no journal has (an exception), and an invoice
    sent on request (an outbound message)."""
    if not _rpc(session, url, "finance.connect.exception", "search_count", [[]]):
        attachment = _rpc(
            session,
            url,
            "ir.attachment",
            "create",
            [
                {
                    "name": UNKNOWN_ACCOUNT_FILE.name,
                    "datas": base64.b64encode(UNKNOWN_ACCOUNT_FILE.read_bytes()).decode(),
                }
            ],
        )
        wizard = _rpc(
            session,
            url,
            "finance.connect.bank.import.wizard",
            "create",
            [{"attachment_ids": [(6, 0, [attachment])]}],
        )
        _rpc(session, url, "finance.connect.bank.import.wizard", "action_import", [[wizard]])
    if not _rpc(
        session, url, "finance.connect.message", "search_count", [[("direction", "=", "out")]]
    ):
        invoices = _rpc(
            session,
            url,
            "account.move",
            "search",
            [[("move_type", "=", "out_invoice"), ("state", "=", "posted")]],
            {"limit": 1},
        )
        if invoices:
            _rpc(
                session,
                url,
                "account.move",
                "action_fc_send_now",
                [invoices],
                {"context": {"fc_send_again": True}},
            )
            time.sleep(5)  # the job runner delivers it to the sandbox


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()

    session = requests.Session()
    answer = session.post(
        f"{args.url}/web/session/authenticate",
        json={"params": {"db": args.db, "login": args.login, "password": args.password}},
        timeout=60,
    ).json()
    if not answer.get("result", {}).get("uid"):
        sys.exit(f"Could not log in to {args.url} ({args.db}) as {args.login}: {answer}")
    _prepare(session, args.url)
    ids = {
        "exception": _rpc(
            session,
            args.url,
            "finance.connect.exception",
            "search",
            [[("state", "in", ("open", "in_progress"))]],
            {"limit": 1},
        ),
        "message": _rpc(
            session,
            args.url,
            "finance.connect.message",
            "search",
            [[("direction", "=", "out")]],
            {"limit": 1},
        ),
    }
    missing = [name for name, found in ids.items() if not found]
    if missing:
        sys.exit(f"The demo data has no {', '.join(missing)} to show.")
    ids = {name: found[0] for name, found in ids.items()}

    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    for name, path in PAGES:
        # Each page in a Chromium of its own, as if opened anew (a page opened
        # after another in the same browser may say "The page is out of date").
        problem = _shoot(args, session, args.url + path.format(**ids), args.out / f"{name}.png")
        if problem:
            failures.append(f"{name}: {problem}")
    if failures:
        sys.exit("\n".join(failures))


def _shoot(args, session, url, target_file):
    """Open ``url`` logged in, wait for the web client, save a PNG; the problem or None."""
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="fc-shots-")
    chromium = subprocess.Popen(
        [
            args.chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            "--window-size=1366,860",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                target = next(p for p in pages if p.get("type") == "page")
                break
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.2)
        else:
            return "Chromium did not open its DevTools port"
        tools = Devtools(target["webSocketDebuggerUrl"])
        tools.call("Network.enable")
        host = args.url.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0]
        tools.call(
            "Network.setCookie",
            name="session_id",
            value=session.cookies["session_id"],
            domain=host,
            path="/",
        )
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=1366,
            height=860,
            deviceScaleFactor=1,
            mobile=False,
        )
        tools.call("Page.navigate", url=url)
        for _ in range(150):  # the web client is up when its action is shown
            time.sleep(0.2)
            if tools.evaluate("!!document.querySelector('.o_action_manager .o_view_controller')"):
                break
        else:
            return "the web client did not show the page"
        time.sleep(1.5)  # let the figures and badges finish rendering
        problem = None
        if tools.evaluate("!!document.querySelector('.o_error_dialog')"):
            problem = "the page shows an error dialog"
        shot = tools.call("Page.captureScreenshot", format="png")
        target_file.write_bytes(base64.b64decode(shot["data"]))
        print(f"{target_file.stem}: {target_file} ({target_file.stat().st_size} bytes)")
        return problem
    finally:
        chromium.terminate()
        try:
            chromium.wait(timeout=10)
        except subprocess.TimeoutExpired:
            chromium.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
