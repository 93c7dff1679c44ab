"""Did pytest and Odoo's own runner run the same tests? (used by setup/test)

    python setup/compare_test_runs.py PYTEST_JUNIT_XML ODOO_LOG

Tests are named ``<addon>.tests.<module>.<Class>.<method>`` on both sides
(sub-tests aside): pytest's from its JUnit XML report, Odoo's from the
``Starting <Class>.<method> ...`` line its runner logs for every test (at INFO
on the logger of the test module, which setup/test enables). Prints how many
each ran and failed, lists the tests only one of them ran, and exits 1 when
the two sets differ or when either side ran nothing.
"""

import re
import sys
import xml.etree.ElementTree as ET

# <date> <time> <pid> INFO <db> odoo.addons.<addon>.tests.test_x: Starting TestX.test_y ...
ODOO_STARTING = re.compile(
    r"^\S+ \S+ \d+ INFO \S+ odoo\.addons\.([\w.]+): Starting ([\w.]+) \.\.\."
)
# <date> <time> <pid> ERROR <db> odoo.addons.<addon>.tests.test_x: FAIL: TestX.test_y
ODOO_FAILED = re.compile(r"^\S+ \S+ \d+ ERROR \S+ odoo\.addons\.([\w.]+): (?:FAIL|ERROR): (.*)$")


def pytest_tests(path):
    ran, failed = set(), set()
    for case in ET.parse(path).iter("testcase"):
        test_id = f"{case.get('classname')}.{case.get('name')}"
        ran.add(test_id)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(test_id)
    return ran, failed


def odoo_tests(path):
    ran, failed = set(), set()
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if match := ODOO_STARTING.match(line):
                ran.add(f"{match[1]}.{match[2]}")
            elif match := ODOO_FAILED.match(line):
                failed.add(f"{match[1]}: {match[2].strip()}")
    return ran, failed


def read(reader, path):
    try:
        return reader(path)
    except (OSError, ET.ParseError) as exc:
        print(f"Cannot read {path}: {exc}")
        return set(), set()


def main(junit_xml, odoo_log):
    by_pytest, pytest_failed = read(pytest_tests, junit_xml)
    by_odoo, odoo_failed = read(odoo_tests, odoo_log)
    print(f"pytest:         {len(by_pytest)} tests, {len(pytest_failed)} failed or in error")
    print(f"Odoo's runner:  {len(by_odoo)} tests, {len(odoo_failed)} failures or errors logged")
    ok = bool(by_pytest) and bool(by_odoo)
    for title, only in (
        ("Run by pytest only", by_pytest - by_odoo),
        ("Run by Odoo's runner only", by_odoo - by_pytest),
    ):
        if only:
            ok = False
            print(f"{title} ({len(only)}):")
            for test_id in sorted(only):
                print(f"  {test_id}")
    if not (by_pytest and by_odoo):
        print("One of the runners ran no test at all.")
    print("Both runners ran the same tests." if ok else "The runners disagree on what ran.")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
