"""Attacking the models over real HTTP, as each role, for the trust-boundary tests.

``TrustCase`` adds to :class:`FinanceConnectCase` (an ``HttpCase`` too) a second
company and one user per role:

- ``portal``: a portal user of company A;
- ``internal``: an internal user of A without any Finance Connect group;
- ``fc_user``: Finance Connect user (read) of A (from the common set-up);
- ``manager``: Finance Connect manager of A only (from the common set-up);
- ``manager_ab``: Finance Connect manager of A and B.

``rpc`` calls ``/web/dataset/call_kw/<model>/<method>`` and ``button`` calls
``/web/dataset/call_button`` exactly as the web client does, logged in as the
role (password = login). ``assert_refused`` checks that the answer is an
error the user can read (AccessError, UserError or ValidationError with a
message), not a crash and not a success.
"""

import json

from odoo.tests import HttpCase, new_test_user, tagged

from .common import FinanceConnectCase

REFUSALS = (
    "odoo.exceptions.AccessError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
)


@tagged("post_install", "-at_install")
class TrustCase(FinanceConnectCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company_data["company"]
        cls.company_b = cls.setup_other_company(name="FC Trust B")["company"]
        cls.env.user.company_ids |= cls.company_b
        cls.portal = new_test_user(
            cls.env, login="fc_portal", groups="base.group_portal", company_id=cls.company_a.id
        )
        cls.internal = new_test_user(
            cls.env, login="fc_internal", groups="base.group_user", company_id=cls.company_a.id
        )
        cls.manager_ab = new_test_user(
            cls.env,
            login="fc_manager_ab",
            groups="account.group_account_manager,finance_connect.group_manager",
            company_id=cls.company_a.id,
            company_ids=[(6, 0, (cls.company_a | cls.company_b).ids)],
        )
        cls.roles = {
            "portal": cls.portal,
            "internal": cls.internal,
            "fc_user": cls.fc_user,
            "manager": cls.manager,
        }

    # ------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------

    def _post_json(self, user, path, params):
        self.authenticate(user.login, user.login)
        self.env.flush_all()
        response = self.url_open(
            path,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}),
            headers={"Content-Type": "application/json"},
        )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 200, response.text[:500])
        return response.json()

    def rpc(self, user, model, method, args=(), kwargs=None, company_ids=None):
        """The JSON-RPC answer of ``model.method(*args, **kwargs)`` as ``user``."""
        kwargs = dict(kwargs or {})
        context = {"allowed_company_ids": company_ids or user.company_ids.ids}
        kwargs.setdefault("context", context)
        return self._post_json(
            user,
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def button(self, user, record, method):
        """The answer of a form button ``method`` clicked on ``record`` by ``user``."""
        return self._post_json(
            user,
            "/web/dataset/call_button",
            {
                "model": record._name,
                "method": method,
                "args": [record.ids],
                "kwargs": {"context": {"allowed_company_ids": user.company_ids.ids}},
            },
        )

    def assert_refused(self, answer, contains=None):
        """The call failed with a readable business error (and nothing else)."""
        self.assertIn("error", answer, f"the call was not refused: {answer.get('result')!r}")
        data = answer["error"].get("data", {})
        self.assertIn(data.get("name"), REFUSALS, data.get("debug", "")[-1500:])
        self.assertTrue(data.get("message"), "the refusal says why")
        if contains:
            self.assertIn(contains, data["message"])
        return data["message"]

    def assert_ok(self, answer):
        self.assertNotIn("error", answer, answer.get("error", {}).get("data", {}).get("message"))
        return answer["result"]
