"""Shared pytest set-up of the whole suite (setup/test passes this folder to
pytest for this file only: every test lives in an addon's tests/).

- Fails at once, saying what is missing, when Odoo cannot be imported.
- Puts the repository on Odoo's addons path so that the test modules are
  imported the way Odoo imports them (``odoo.addons.finance_connect.tests...``).
- Refuses a green run that skipped tests or ran no Odoo test (one that needs
  the database: a ``TransactionCase`` or ``HttpCase``): a skipped test is a
  failure here.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

try:
    import odoo
    import odoo.addons
    from odoo.tests import SingleTransactionCase, TransactionCase
except ImportError as exc:  # pragma: no cover - the message is the point
    raise pytest.UsageError(
        f"Odoo 18 is not importable ({exc}). Run the tests with setup/test, which "
        "installs Odoo from a source tree at $ODOO_SRC or "
        "~/.cache/finance-connect/odoo-18.0 (see README.md)."
    ) from exc

if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
    odoo.addons.__path__.append(str(REPO))

_DATABASE_TESTS = set()


def pytest_collection_modifyitems(session, config, items):
    """Remember which tests need the database (the ORM-free ones do not)."""
    for item in items:
        cls = getattr(item, "cls", None)
        if cls and issubclass(cls, TransactionCase | SingleTransactionCase):
            _DATABASE_TESTS.add(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Make skipped tests and a run without Odoo tests fail the session."""
    if not os.environ.get("FC_TESTS_ODOO"):
        return
    stats = terminalreporter.stats
    skipped = len(stats.get("skipped", []))
    passed = stats.get("passed", [])
    odoo_tests = [r for r in passed if r.nodeid in _DATABASE_TESTS]
    problems = []
    if skipped:
        problems.append(f"{skipped} test(s) were skipped; a skipped test fails this run")
    if config.args and not config.option.keyword and not odoo_tests:
        problems.append("no Odoo test ran")
    if problems:
        terminalreporter.write_line("finance_connect: " + "; ".join(problems), red=True)
        terminalreporter._session.exitstatus = 1
