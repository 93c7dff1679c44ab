"""Shared pytest set-up of the whole suite (ORM-free tests and Odoo tests).

- Fails at once, saying what is missing, when Odoo cannot be imported.
- Puts the repository on Odoo's addons path so that the pure modules are
  imported the way Odoo imports them (``odoo.addons.finance_connect.lib...``).
- Refuses a green run that skipped tests or ran no Odoo test: a skipped
  test is a failure here.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"

try:
    import odoo
    import odoo.addons
except ImportError as exc:  # pragma: no cover - the message is the point
    raise pytest.UsageError(
        f"Odoo 18 is not importable ({exc}). Run the tests with setup/test, which "
        "installs Odoo from a source tree at $ODOO_SRC or "
        "~/.cache/finance-connect/odoo-18.0 (see README.md)."
    ) from exc

if str(REPO) not in [str(p) for p in odoo.addons.__path__]:
    odoo.addons.__path__.append(str(REPO))


def shared_fixture(*parts):
    """Path of a file of the shared real-world corpus; fails when it is absent."""
    path = SHARED_FIXTURES.joinpath(*parts)
    if not SHARED_FIXTURES.is_dir():
        pytest.fail(
            f"The shared fixtures folder {SHARED_FIXTURES} is missing: the corpus "
            "tests need ../shared/fixtures beside the repository."
        )
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Make skipped tests and a run without Odoo tests fail the session."""
    if not os.environ.get("FC_TESTS_ODOO"):
        return
    stats = terminalreporter.stats
    skipped = len(stats.get("skipped", []))
    passed = stats.get("passed", [])
    odoo_tests = [r for r in passed if not r.nodeid.startswith("tests/")]
    problems = []
    if skipped:
        problems.append(f"{skipped} test(s) were skipped; a skipped test fails this run")
    if config.args and not config.option.keyword and not odoo_tests:
        problems.append("no Odoo test ran")
    if problems:
        terminalreporter.write_line("finance_connect: " + "; ".join(problems), red=True)
        terminalreporter._session.exitstatus = 1
