"""readme/DEVELOP.md, the core API page, names only models and methods that exist.

Every dotted name of a model or of a model's method written in backquotes on
the page (``finance.connect.message._enqueue_outbound(...)``,
``finance.connect.connection._job_drain``, ``account.move._post``) is looked
up in the registry: a method renamed, moved or removed without updating the
page fails this test.
"""

import re
from pathlib import Path

from odoo.tests import TransactionCase, tagged

DEVELOP = Path(__file__).resolve().parents[1] / "readme" / "DEVELOP.md"
#: A backquoted dotted name of a model, or of a model's method (then followed by
#: its arguments or by the closing backquote).
NAME = re.compile(r"`((?:finance\.connect|account)(?:\.[a-z_][a-z0-9_]*)+)[`(]")


def listed_names(text):
    """The dotted names the page gives, sorted, once each."""
    return sorted(set(NAME.findall(text)))


@tagged("post_install", "-at_install")
class TestDevelopApi(TransactionCase):
    def methods(self, names):
        """``[(model, method), ...]`` of the names that are not a model."""
        return [tuple(name.rsplit(".", 1)) for name in names if name not in self.env]

    def missing(self, names):
        """The names that are neither a model nor a method of one."""
        return [
            f"{model}.{method}"
            for model, method in self.methods(names)
            if model not in self.env or not callable(getattr(self.env[model], method, None))
        ]

    def test_the_page_is_read_as_intended(self):
        names = listed_names(
            "- `finance.connect.webhook.receiver._get_verifier(connection, settings)`: with"
            " `finance.connect.mapping.line`, `account.move._post`, then"
            " `finance.connect.message._no_such_method()` and `finance.connect.nothing._open`."
        )
        self.assertEqual(
            self.methods(names),
            [
                ("account.move", "_post"),
                ("finance.connect.message", "_no_such_method"),
                ("finance.connect.nothing", "_open"),
                ("finance.connect.webhook.receiver", "_get_verifier"),
            ],
        )
        self.assertEqual(
            self.missing(names),
            ["finance.connect.message._no_such_method", "finance.connect.nothing._open"],
        )

    def test_every_method_of_the_page_exists(self):
        names = listed_names(DEVELOP.read_text(encoding="utf-8"))
        models = {model for model, _method in self.methods(names)}
        # Both sides and the shared parts are there (a vacuous page would pass).
        for model in (
            "finance.connect.connection",
            "finance.connect.http",
            "finance.connect.delivery",
            "finance.connect.message",
            "finance.connect.handler",
            "finance.connect.webhook.receiver",
            "finance.connect.exception",
            "finance.connect.mapping",
            "finance.connect.integration.mixin",
        ):
            self.assertIn(model, models)
        self.assertFalse(
            self.missing(names),
            "readme/DEVELOP.md names methods that do not exist (renamed or moved?)",
        )
