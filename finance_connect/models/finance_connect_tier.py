"""Service tiers: how much of the job runner each kind of work may take.

Every connection belongs to a tier (``critical``: bank and PSP payment flows,
``standard``, ``bulk``: reporting and planning). Its jobs run on the tier's
queue_job channel ``root.finance_connect.<tier>.connection_<id>``.

queue_job reads its channel capacities from the server configuration at
start only, so the capacity and the pause set here are enforced by our own
gate (:meth:`_gate_try_enter`): before doing any work a job takes one of the
tier's ``capacity`` slots, a PostgreSQL advisory lock held until its
transaction ends; when none is free or the tier is paused, the job puts
itself back in the queue a few seconds later (no failed attempt, nothing lost).
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

SYSTEM_GROUP = "base.group_system"

TIERS = [
    ("critical", "Critical (bank and PSP payment flows)"),
    ("standard", "Standard"),
    ("bulk", "Bulk (reporting and planning)"),
]
#: The tier a connection of each kind starts in.
TIER_OF_KIND = {"bank": "critical", "psp": "critical", "reporting": "bulk", "planning": "bulk"}
#: First key of the advisory locks of the tier slots (second key: the slot).
GATE_LOCK_BASE = 0x46430000
#: Seconds after which a job that found the gate closed tries again.
GATE_RETRY_SECONDS = 5


class FinanceConnectTier(models.Model):
    _name = "finance.connect.tier"
    _description = "Finance Connect service tier"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Selection(TIERS, required=True, readonly=True)
    sequence = fields.Integer(default=10)
    capacity = fields.Integer(
        default=2,
        tracking=True,
        help="Jobs of this tier's connections that may run at the same time, whatever "
        "the job runner's own channels allow.",
    )
    paused = fields.Boolean(
        readonly=True,
        tracking=True,
        help="A paused tier keeps the work of all its connections waiting; nothing is "
        "lost and nothing fails. Use the Pause and Resume buttons.",
    )
    connection_count = fields.Integer(compute="_compute_connection_count")

    _sql_constraints = [
        ("code_uniq", "unique(code)", "There is one tier of each kind."),
    ]

    @api.constrains("capacity")
    def _check_capacity(self):
        for tier in self:
            if not 1 <= tier.capacity <= 64:
                raise ValidationError(
                    self.env._(
                        "The capacity of %(tier)s must lie between 1 and 64 jobs at a time.",
                        tier=tier.name,
                    )
                )

    def _compute_connection_count(self):
        counts = dict(
            self.env["finance.connect.connection"]
            .sudo()
            ._read_group([("tier", "in", self.mapped("code"))], ["tier"], ["__count"])
        )
        for tier in self:
            tier.connection_count = counts.get(tier.code, 0)

    # ------------------------------------------------------------------
    # Rights: a tier holds the work of every company's connections, so only
    # the database's administrators (Settings) size, pause and resume it; a
    # manager of one company pauses that company's connections instead.
    # ------------------------------------------------------------------

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group(SYSTEM_GROUP)):
            raise AccessError(
                self.env._(
                    "A service tier holds the work of every company: only Settings "
                    "administrators change or pause it. Pause your company's connections "
                    "instead (Pause on the connection)."
                )
            )

    def write(self, vals):
        self._check_manager()
        if "paused" in vals and not self.env.su:
            raise AccessError(
                self.env._("Pause or resume a tier with its Pause and Resume buttons.")
            )
        return super().write(vals)

    def action_pause(self):
        """Hold the work of every connection of these tiers (Settings administrators)."""
        self._check_manager()
        self.check_access("write")
        for tier in self.filtered(lambda t: not t.paused):
            tier.sudo().paused = True
            self.env["finance.connect.audit"]._log(tier, "tier_paused", tier.code)
        return True

    def action_resume(self):
        """Let the held work of these tiers go, oldest first (Settings administrators)."""
        self._check_manager()
        self.check_access("write")
        for tier in self.filtered("paused"):
            tier.sudo().paused = False
            self.env["finance.connect.audit"]._log(tier, "tier_resumed", tier.code)
            connections = (
                self.env["finance.connect.connection"].sudo().search([("tier", "=", tier.code)])
            )
            self.env["finance.connect.delivery"]._wake_connections(connections)
        return True

    # ------------------------------------------------------------------
    # The gate (used by finance.connect.delivery and .handler)
    # ------------------------------------------------------------------

    @api.model
    def _gate_retry_seconds(self):
        """Seconds after which a job that found its tier busy tries again."""
        return GATE_RETRY_SECONDS

    @api.model
    def _get_tier(self, code):
        return self.sudo().search([("code", "=", code)], limit=1)

    @api.model
    def _gate_try_enter(self, connection):
        """Take a slot of the tier of ``connection`` for the current transaction.

        Returns ``None`` when the job may work, else why it must wait (the
        tier or connection is paused, or all the tier's slots are taken).
        The slot is a transaction-level advisory lock: it is given back when
        the job's transaction commits or rolls back, also when it crashes.
        """
        conn = connection.sudo()
        if not conn.active or conn.paused:
            return "connection paused"
        tier = self._get_tier(conn.tier or "standard")
        if not tier:
            return None
        if tier.paused:
            return f"tier {tier.code} paused"
        key = GATE_LOCK_BASE + tier.id
        for slot in range(max(1, tier.capacity)):
            self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", key, slot))
            if self.env.cr.fetchone()[0]:
                return None
        return f"tier {tier.code} busy ({tier.capacity} jobs running)"
