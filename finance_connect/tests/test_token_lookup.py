"""``lib.webhook_inbound.find_by_token``: the one lookup of a secret token by its hash.

Metrics and pull tokens are found through it; what it refuses is refused for
every caller."""

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..lib.webhook_inbound import MAX_TOKEN_LENGTH, find_by_token, hash_token


@tagged("post_install", "-at_install")
class TestFindByToken(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cr.execute(
            "CREATE TEMPORARY TABLE fc_token_probe"
            " (id serial PRIMARY KEY, token_hash varchar, active boolean)"
        )
        cls.tokens = {"live": "tok-live-0123456789", "off": "tok-off-0123456789"}
        for name, active in (("live", True), ("off", False)):
            cls.cr.execute(
                SQL(
                    "INSERT INTO fc_token_probe (token_hash, active) VALUES (%s, %s) RETURNING id",
                    hash_token(cls.tokens[name]),
                    active,
                )
            )
            setattr(cls, f"id_{name}", cls.cr.fetchone()[0])

    def find(self, token, where=None):
        return find_by_token(self.cr, "fc_token_probe", "token_hash", token, where)

    def test_the_right_token_finds_its_row(self):
        self.assertEqual(self.find(self.tokens["live"]), self.id_live)
        self.assertEqual(self.find(self.tokens["off"]), self.id_off)

    def test_the_stored_hash_is_not_a_token(self):
        """Someone who read the hash column cannot use what they read."""
        self.assertIsNone(self.find(hash_token(self.tokens["live"])))

    def test_wrong_empty_long_and_unprintable_tokens_find_nothing(self):
        live = self.tokens["live"]
        for token in (
            "",
            None,
            live + "x",
            live[:-1],
            live.upper(),
            live + "\n",
            "\x00" + live,
            "a" * (MAX_TOKEN_LENGTH + 1),
        ):
            with self.subTest(token=repr(token)[:40]):
                self.assertIsNone(self.find(token))

    def test_the_caller_condition_applies(self):
        active = SQL("active")
        self.assertEqual(self.find(self.tokens["live"], active), self.id_live)
        self.assertIsNone(self.find(self.tokens["off"], active))
