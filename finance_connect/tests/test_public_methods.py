"""Every public method of our models, with the rule it follows.

Any method without a leading underscore (and other than ``init``) is callable
over JSON-RPC (``/web/dataset/call_kw``, ``/web/dataset/call_button``) by
anyone who can read the model: a hidden button protects nothing. This test
lists the public methods that the classes of the three addons define (or
override) on every model of the registry, and compares them with
``PUBLIC_METHODS`` below. A new public method fails this test until it gets
an entry saying which rule it follows:

- "checks: ..." it checks the rights itself (group and/or ``check_access``)
  before any ``sudo()``;
- "crud: ..." an ORM override: Odoo's access rights and record rules apply
  before it runs, plus what it adds;
- "harmless: ..." why calling it with any ids as any reader changes nothing
  and reveals nothing the caller may not read.

How to add an entry: run this test, copy the ``model.method`` it names, and
write the rule. The methods of the items 1-3 and 9-11 of issue 13 (connection
endpoint, authentication, verifier, token) are filled in when that branch is
merged.
"""

import inspect

from odoo.tests import TransactionCase, tagged

OUR_MODULES = (
    "odoo.addons.finance_connect.",
    "odoo.addons.finance_connect_bank.",
    "odoo.addons.finance_connect_reporting.",
)

SEND_NOW = "checks: check_access('write') on the records"
ACTION = "harmless: returns a window action; the client then reads with the user's own rights"

PUBLIC_METHODS = {
    # account.* extensions ------------------------------------------------
    "account.bank.statement.line.action_fc_confirm_match": (
        "checks: check_access('write') on the lines (Odoo's bank rights and rules), then "
        "reconciles through Odoo's reconcile as the user"
    ),
    "account.bank.statement.line.action_fc_match_by_hand": (
        "checks: check_access('write') on the line; creates the caller's own match wizard"
    ),
    "account.bank.statement.line.action_fc_match_again": (
        "checks: check_access('write') on the lines, then the matcher writes the match fields"
    ),
    "account.bank.statement.line.write": (
        "checks: EXTENDS account.write (its rights); the bank references, import id and "
        "match fields only by the import and the matcher (superuser)"
    ),
    "account.bank.statement.line.action_fc_send_now": SEND_NOW,
    "account.bank.statement.line.action_fc_view_messages": ACTION,
    "account.move.action_fc_send_now": SEND_NOW,
    "account.move.action_fc_view_messages": ACTION,
    "account.move.line.reconcile": "crud: EXTENDS account.reconcile (its rights), emits events",
    "account.payment.action_fc_send_now": SEND_NOW,
    "account.payment.action_fc_view_messages": ACTION,
    "account.payment.action_post": "crud: EXTENDS account.action_post, then emits events",
    "account.payment.create": (
        "checks: the bank fields (end-to-end id, bank status and reason, refund link) "
        "only by the engine (superuser)"
    ),
    "account.payment.write": (
        "checks: EXTENDS account.write (its rights); the bank fields (end-to-end id, bank "
        "status and reason, refund link) only by the engine (superuser); emits state changes"
    ),
    # core ------------------------------------------------------------------
    "finance.connect.audit.unlink": "harmless: always refuses (append-only)",
    "finance.connect.audit.write": "harmless: always refuses (append-only)",
    "finance.connect.connection.action_generate_webhook_secret": (
        "checks: _check_secret_admin (administrators)"
    ),
    "finance.connect.connection.action_regenerate_webhook_token": (
        "checks: administrators who may write the connection (_check_admin_may_change)"
    ),
    "finance.connect.connection.action_resume_on_copy": (
        "checks: administrators who may write the connection (_check_admin_may_change); " "audited"
    ),
    "finance.connect.connection.action_pause": (
        "checks: manager group, then check_access('write') on the connections; audited"
    ),
    "finance.connect.connection.action_resume": (
        "checks: manager group, then check_access('write') on the connections; refused on "
        "a neutralized copy (action_resume_on_copy there); audited, wakes their queues"
    ),
    "finance.connect.connection.action_reset_circuit": (
        "checks: manager group, then check_access('write') on the connections"
    ),
    "finance.connect.connection.action_test_connection": (
        "checks: manager group, then check_access('write') on the connection"
    ),
    "finance.connect.connection.action_view_change_requests": ACTION,
    "finance.connect.connection.action_view_exceptions": ACTION,
    "finance.connect.connection.action_view_messages": ACTION,
    "finance.connect.connection.create": (
        "crud: managers (ACL) in their companies (rule); drops the webhook caches"
    ),
    "finance.connect.connection.action_view_statistics": ACTION,
    "finance.connect.connection.unlink": "crud: administrators (ACL); drops the webhook caches",
    "finance.connect.connection.write": (
        "crud: managers (ACL) in their companies (rule); endpoint, authentication and "
        "verifier fields administrators only (_get_admin_only_fields); on a guarded "
        "connection those become change requests (four-eyes gate, no context key opens it)"
    ),
    "finance.connect.change.request.action_approve": (
        "checks: _check_decider (approving group, not the requester, the request's company, "
        "read rule), pending and unchanged record; applies as the approver"
    ),
    "finance.connect.change.request.action_cancel": (
        "checks: the requester only (and the read rule), pending; audited"
    ),
    "finance.connect.change.request.action_open_record": ACTION,
    "finance.connect.change.request.action_reject": (
        "checks: _check_decider (approving group, not the requester, the request's company, "
        "read rule), pending; audited"
    ),
    "finance.connect.change.request.unlink": "harmless: always refuses (requests are kept)",
    "finance.connect.change.request.write": (
        "checks: the decision note only, by the approving group, while pending; everything "
        "else by the action methods (superuser)"
    ),
    "finance.connect.tier.action_pause": (
        "checks: Settings administrators (base.group_system: a tier holds every company's "
        "work), then check_access('write'); audited"
    ),
    "finance.connect.tier.action_resume": (
        "checks: Settings administrators (base.group_system), then check_access('write'); "
        "audited, wakes the queues of their connections"
    ),
    "finance.connect.tier.write": (
        "checks: Settings administrators (and ACL); paused only through action_pause / "
        "action_resume"
    ),
    "finance.connect.exception.action_assign_to_me": (
        "checks: Finance Connect user group, then check_access('read') (company rules); a "
        "user may take only exceptions nobody else owns (managers any); writes owner and "
        "state as superuser after, audit trail"
    ),
    "finance.connect.exception.action_ignore": (
        "checks: manager group, then check_access('write'); only opens the reason wizard"
    ),
    "finance.connect.exception.action_open_fix": ACTION,
    "finance.connect.exception.action_open_message": ACTION,
    "finance.connect.exception.action_open_record": ACTION,
    "finance.connect.exception.action_reopen": (
        "checks: manager group, then check_access('write'); audited"
    ),
    "finance.connect.exception.action_resolve": (
        "checks: manager group, then check_access('write'); audited"
    ),
    "finance.connect.exception.action_retry": (
        "checks: manager group, then check_access('write'); replays via action_replay (checked)"
    ),
    "finance.connect.exception.get_open_count": (
        "harmless: a search_count under the user's own rules (0 without the user group)"
    ),
    "finance.connect.exception.create": (
        "crud: nobody but the engine (no create in the ACL); pings the systray after"
    ),
    "finance.connect.sla.rule.action_evaluate_now": (
        "checks: manager group, then check_access('write') on the rules (company rule); "
        "the evaluation then runs as superuser"
    ),
    "finance.connect.sla.rule.action_view_breach": ACTION,
    "finance.connect.sla.rule.unlink": (
        "crud: managers (ACL) in their companies (rule); resolves the rule's open breach"
    ),
    "finance.connect.sla.rule.write": (
        "crud: managers (ACL) in their companies (rule); archiving resolves the open breach"
    ),
    "finance.connect.send.confirm.action_send_again": (
        "checks: the model must carry the integration mixin; action_fc_send_now then checks "
        "write access on the records"
    ),
    "finance.connect.exception.write": (
        "checks: only owner and priority for anyone but the engine (superuser)"
    ),
    "finance.connect.exception.ignore.action_confirm": (
        "checks: exception._ignore checks the manager group and the company rules; "
        "the wizard rows are their creator's (rule)"
    ),
    "finance.connect.integration.mixin.action_fc_send_now": (
        "checks: check_access('write') on the records"
    ),
    "finance.connect.integration.mixin.action_fc_view_messages": ACTION,
    "finance.connect.log.chain.action_verify_log": (
        "checks: administrators only (group checked first); verifies the chains of the "
        "user's companies as superuser and opens at most one exception per company"
    ),
    "finance.connect.mapping.action_create_unmapped_lines": (
        "checks: check_access('write') on the set; lines created as the user (ACL, rules)"
    ),
    "finance.connect.mapping.action_import_lines": ACTION + " (the import client action)",
    "finance.connect.mapping.action_list_unmapped": "checks: check_access('read') on the set",
    "finance.connect.mapping.action_try_value": ACTION,
    "finance.connect.mapping.action_view_change_requests": ACTION,
    "finance.connect.mapping.action_view_lines": ACTION,
    "finance.connect.mapping.action_view_versions": ACTION,
    "finance.connect.mapping.create": "crud: managers (ACL) in their companies (rule)",
    "finance.connect.mapping.unlink": "crud: managers (ACL) in their companies (rule)",
    "finance.connect.mapping.write": (
        "crud: managers (ACL) in their companies (rule); a Reason for change only goes to "
        "the lines' four-eyes gate (it opens requests, never applies them)"
    ),
    "finance.connect.mapping.line.create": (
        "checks: the target set must be writable by the user (no line into another company); "
        "guarded lines become change requests (four-eyes gate)"
    ),
    "finance.connect.mapping.line.get_import_templates": "harmless: a static template list",
    "finance.connect.mapping.line.unlink": (
        "crud: managers (ACL) in their companies (rule); guarded lines become change requests"
    ),
    "finance.connect.mapping.line.write": (
        "checks: a new set must be writable by the user (a line never moves company); "
        "guarded lines become change requests (four-eyes gate)"
    ),
    "finance.connect.mapping.try.create": (
        "checks: the set and the connection tried must be readable (rules); own rows only"
    ),
    "finance.connect.mapping.try.write": (
        "checks: the set and the connection tried must be readable (rules); own rows only"
    ),
    "finance.connect.mapping.version.action_compare": (
        "checks: check_access('read') on the version; opens the compare wizard (its own checks)"
    ),
    "finance.connect.mapping.version.action_restore": (
        "checks: manager group, check_access('read') on the version and ('write') on its set; "
        "then the lines' own unlink/write/create as the user (their rights, rules, approvals)"
    ),
    "finance.connect.mapping.version.compare.create": (
        "checks: the versions and the set compared must be readable (rules); own rows only"
    ),
    "finance.connect.mapping.version.compare.write": (
        "checks: the versions and the set compared must be readable (rules); own rows only"
    ),
    "finance.connect.message.action_cancel": (
        "checks: manager group, then check_access('read') on every message; audited"
    ),
    "finance.connect.message.action_open_record": ACTION,
    "finance.connect.message.action_replay": (
        "checks: manager group, then check_access('read') on every message; audited"
    ),
    "finance.connect.message.unlink": "harmless: always refuses (messages are archived)",
    "finance.connect.legal.hold.create": (
        "checks: manager group (_check_hold_manager), then the ACL and the company rule; "
        "who and when set by the system; audited"
    ),
    "finance.connect.legal.hold.write": (
        "checks: refused to everyone but the system (release it, place a new one)"
    ),
    "finance.connect.legal.hold.action_release": (
        "checks: manager group, then check_access('write') (company rule); audited"
    ),
    "finance.connect.metrics.token.action_generate_metrics_token": (
        "checks: administrator group, then check_access('read') on the tokens rotated "
        "(company rule); else the current company, one of the user's"
    ),
    "finance.connect.metrics.token.action_revoke_metrics_token": (
        "checks: administrator group, then check_access('read') (company rule); audited"
    ),
    "finance.connect.record.link.mixin.action_open_record": ACTION,
    "finance.connect.secret.create": "crud: administrators only (ACL); drops the caches",
    "finance.connect.secret.unlink": "crud: administrators only (ACL); drops the caches",
    "finance.connect.secret.write": "crud: administrators only (ACL); drops the caches",
    "res.company.write": (
        "checks: EXTENDS base (Odoo's rights); fc_four_eyes by Finance Connect administrators "
        "only, turning it off becomes a change request (four-eyes gate)"
    ),
    "res.config.settings.set_values": (
        "crud: EXTENDS base (settings administrators); the four-eyes switch is written "
        "through res.company.write (checked)"
    ),
    # bank ------------------------------------------------------------------
    "finance.connect.payment.batch.action_add_payments": (
        "checks: manager group, then check_access('write') (company rules); draft batches "
        "only; creates the caller's own wizard"
    ),
    "finance.connect.payment.batch.add.action_add": (
        "checks: the batch's _check_act (manager group, write access), draft, then the "
        "payments' eligibility (_check_payments); lines written by the engine after"
    ),
    "finance.connect.bank.match.wizard.action_match": (
        "checks: check_access('write') on the bank line and on the chosen item (Odoo's "
        "accounting rights and rules), same company, item still open; reconciles as the user"
    ),
    "finance.connect.bank.match.wizard.create": (
        "crud: transient, its creator's only (ACL Billing); check_access('write') on the line"
    ),
    "finance.connect.bank.csv.profile.action_view_change_requests": ACTION,
    "finance.connect.bank.csv.profile.unlink": (
        "crud: managers (ACL) in their companies (rule); guarded profiles become change "
        "requests (four-eyes gate)"
    ),
    "finance.connect.bank.csv.profile.write": (
        "crud: managers (ACL) in their companies (rule); guarded fields become change "
        "requests (four-eyes gate)"
    ),
    "finance.connect.bank.import.wizard.action_import": (
        "checks: Odoo's statement-line create right; the wizard rows are their creator's (rule)"
    ),
    "finance.connect.bank.import.wizard.action_view_lines": ACTION,
    "finance.connect.exception.action_import_corrected_file": (
        "checks: manager group, then check_access('write') (_check_act); opens the upload wizard"
    ),
    "finance.connect.connection.action_pull_now": (
        "checks: manager group, then check_access('write') on the connection"
    ),
    "finance.connect.payment.batch.action_generate": (
        "checks: manager group, then check_access('write'); the file is written as the engine"
    ),
    "finance.connect.payment.batch.action_send": (
        "checks: manager group, then check_access('write'); under four-eyes not the batch's "
        "creator; builds and validates the file"
    ),
    "finance.connect.payment.batch.action_view_payments": ACTION,
    "finance.connect.payment.batch.create": (
        "checks: no engine field (file, state, lines, message) unless superuser"
    ),
    "finance.connect.payment.batch.write": (
        "checks: draft fields only, on draft batches, unless superuser (the engine)"
    ),
    "finance.connect.payment.batch.line.create": "checks: superuser (the engine) only",
    "finance.connect.payment.batch.line.write": "checks: superuser (the engine) only",
    # reporting -------------------------------------------------------------
    "finance.connect.feed.action_deliver_last_period": (
        "checks: manager group, then check_access('write') (all of the feed's companies)"
    ),
    "finance.connect.feed.action_export_file": (
        "checks: manager group, then check_access('write') (all of the feed's companies)"
    ),
    "finance.connect.feed.action_open_deliveries": ACTION,
    "finance.connect.feed.action_regenerate_token": (
        "checks: manager group, then check_access('write')"
    ),
    "finance.connect.feed.create": (
        "checks: every company must be one the user may access; owner company included"
    ),
    "finance.connect.feed.write": (
        "checks: every company must be one the user may access; owner company included"
    ),
}


def public_methods(env):
    """``{"model.method": defining module}`` of the public methods that our
    addons' classes define on the registry's models (``init`` is private to
    RPC: Odoo refuses ``^(_.*|init)$``)."""
    found = {}
    for model_name in sorted(env.registry):
        for klass in type(env[model_name]).__mro__:
            module = getattr(klass, "__module__", "") or ""
            if not module.startswith(OUR_MODULES):
                continue
            for attr, value in vars(klass).items():
                if attr.startswith("_") or attr == "init":
                    continue
                if isinstance(value, staticmethod | classmethod):
                    value = value.__func__
                if inspect.isfunction(value):
                    found.setdefault(f"{model_name}.{attr}", module)
    return found


@tagged("post_install", "-at_install")
class TestPublicMethods(TransactionCase):
    def test_every_public_method_has_a_rule(self):
        found = public_methods(self.env)
        # The discovery itself works (a vacuous list would pass anything).
        self.assertIn("finance.connect.message.action_replay", found)
        self.assertIn("finance.connect.exception.write", found)
        unlisted = sorted(set(found) - set(PUBLIC_METHODS))
        self.assertFalse(
            unlisted,
            "Public methods without a rule in PUBLIC_METHODS (callable over JSON-RPC by "
            "anyone who can read the model: check rights in the method, or say why it is "
            "harmless):\n"
            + "\n".join(f"  {name}  (defined in {found[name]})" for name in unlisted),
        )

    def test_every_rule_names_a_public_method(self):
        """No rule outlives its method (a moved or renamed method is listed anew)."""
        found = public_methods(self.env)
        stale = sorted(set(PUBLIC_METHODS) - set(found))
        self.assertFalse(stale, "Rules for methods that no longer exist:\n  " + "\n  ".join(stale))

    def test_every_rule_is_written_out(self):
        for name, rule in PUBLIC_METHODS.items():
            with self.subTest(name=name):
                self.assertRegex(rule, r"^(checks|crud|harmless|NOT YET CHECKED): \S")
