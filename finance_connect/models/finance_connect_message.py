"""The integration message log.

Every inbound and outbound exchange is one ``finance.connect.message``. A
message is created once per business event: the idempotency key is unique per
connection and direction in the database, so a second delivery of the same
event finds the first message instead of creating a new one.

Outbound messages are mapped, validated and queued here (``_enqueue_outbound``)
and delivered by queue jobs (``_job_send``, run by ``finance.connect.delivery``);
inbound ones are processed by ``_job_process`` (``finance.connect.handler``).
"""

import json
import uuid
from datetime import timedelta

import psycopg2

from odoo import Command, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.modules.module import get_module_path
from odoo.osv import expression
from odoo.tools import mute_logger

from ..exceptions import MappingMissing
from ..lib import payloads as lib_payloads
from ..lib import webhook_inbound as inbound
from ..lib.masking import mask_payload
from .res_company import RETENTION_DAY_FIELDS

STATES = [
    ("new", "New"),
    ("queued", "Queued"),
    ("sending", "Sending"),
    ("done", "Done"),
    ("retrying", "Retrying"),
    ("failed", "Failed"),
    ("duplicate", "Duplicate"),
    ("cancelled", "Cancelled"),
]
FINAL_STATES = ("done", "duplicate", "cancelled")
#: Retention classes: each has its own retention per company (``res.company``).
RETENTION_CLASSES = [
    ("statement", "Bank statements"),
    ("payment_file", "Payment files"),
    ("feed", "Feed deliveries"),
    ("webhook", "Webhooks received"),
    ("other", "Other messages"),
]
ADMIN_GROUP = "finance_connect.group_administrator"


class FinanceConnectMessage(models.Model):
    _name = "finance.connect.message"
    _inherit = ["finance.connect.record.link.mixin", "finance.connect.log.chained.mixin"]
    _description = "Finance Connect integration message"
    _order = "id desc"
    _rec_name = "reference"
    # The canonical content of the tamper-evident log (readme/DEVELOP.md).
    # The payload is covered by its SHA-256; ``job_uuid`` (a pointer to the
    # queue job) and ``active`` (archiving) are not content.
    _log_chain_fields = (
        "id",
        "company_id",
        "reference",
        "direction",
        "connection_id",
        "subscription_id",
        "event_type",
        "schema_version",
        "external_id",
        "idempotency_key",
        "webhook_id",
        "correlation_id",
        "content_type",
        "payload_encoding",
        "payload_sha256",
        "res_model",
        "res_id",
        "res_name",
        "attempt_count",
        "state",
        "error",
        "next_retry_at",
        "done_at",
        "response_status",
        "response_excerpt",
        "batch_id",
        "state_log",
        "waiting_for",
        "create_date",
        "create_uid",
    )

    reference = fields.Char(required=True, readonly=True, index=True, copy=False)
    active = fields.Boolean(default=True, help="Archived by the retention cron.")
    direction = fields.Selection(
        [("out", "Outbound"), ("in", "Inbound")], required=True, readonly=True
    )
    connection_id = fields.Many2one(
        "finance.connect.connection",
        required=True,
        readonly=True,
        ondelete="restrict",  # searched through the (connection, direction, key) index
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    subscription_id = fields.Many2one("finance.connect.subscription", readonly=True)
    event_type = fields.Char(required=True, readonly=True)
    schema_version = fields.Integer(
        string="Payload version",
        readonly=True,
        help="The version of the event's JSON Schema the payload follows (0: none).",
    )
    mapping_version_ids = fields.Many2many(
        "finance.connect.mapping.version",
        "finance_connect_message_mapping_version_rel",
        "message_id",
        "version_id",
        string="Mapping versions",
        readonly=True,
        help="The version of each mapping set of the connection in force when the "
        "payload was mapped.",
    )
    external_id = fields.Char(readonly=True, help="Id at the other side.")
    idempotency_key = fields.Char(
        string="Business event key",
        required=True,
        readonly=True,
        help="The same business event always has the same key: a second delivery of it finds "
        "this message instead of making a new one (idempotency key).",
    )
    webhook_id = fields.Char(
        string="Delivery id",
        readonly=True,
        help="The webhook-id header: the same on every retry, so the other side can ignore "
        "a repeat.",
    )
    correlation_id = fields.Char(
        string="Correlation id",
        readonly=True,
        index=True,
        help="Follows one business flow across messages, logs and systems.",
    )
    content_type = fields.Char(readonly=True, default="application/json")
    payload = fields.Text(string="Raw payload", readonly=True, groups=ADMIN_GROUP)
    payload_display = fields.Text(
        string="Payload",
        compute="_compute_payload_display",
        help="Sensitive values (IBANs, account numbers, tokens) are masked.",
    )
    payload_encoding = fields.Selection(
        [(inbound.TEXT, "Text"), (inbound.BASE64, "Base64")],
        default=inbound.TEXT,
        readonly=True,
        help="Bodies that are not UTF-8 text are stored as base64 of their bytes.",
    )
    payload_sha256 = fields.Char(string="Payload SHA-256", readonly=True)
    on_legal_hold = fields.Boolean(
        string="On legal hold",
        compute="_compute_on_legal_hold",
        search="_search_on_legal_hold",
        help="An active legal hold covers this message: it is not archived.",
    )
    retention_class = fields.Selection(
        RETENTION_CLASSES,
        compute="_compute_retention_class",
        search="_search_retention_class",
        help="Decides how long the message stays in the log before it is archived: "
        "by its event type (statements, payment files, feed deliveries), otherwise "
        "inbound messages are received webhooks and outbound ones other messages.",
    )
    res_model = fields.Char(string="Related model", readonly=True)
    res_id = fields.Many2oneReference(
        model_field="res_model", readonly=True, index="btree_not_null"
    )
    res_name = fields.Char(string="Related record", readonly=True)
    job_uuid = fields.Char(string="Queue job", readonly=True)
    attempt_ids = fields.One2many("finance.connect.message.attempt", "message_id", readonly=True)
    attempt_count = fields.Integer(readonly=True, default=0)
    state = fields.Selection(STATES, required=True, default="new", readonly=True, index=True)
    error = fields.Text(readonly=True)
    next_retry_at = fields.Datetime(readonly=True)
    done_at = fields.Datetime(readonly=True)
    response_status = fields.Integer(readonly=True)
    response_excerpt = fields.Text(readonly=True)
    batch_id = fields.Many2one("finance.connect.message", readonly=True, index="btree_not_null")
    batch_item_ids = fields.One2many("finance.connect.message", "batch_id")
    exception_ids = fields.One2many("finance.connect.exception", "message_id")
    state_log = fields.Text(readonly=True, help="Every state change: when, who, why.")
    waiting_for = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="A message held for a missing mapping: '<type>:<value>'.",
    )

    _sql_constraints = [
        (
            "idempotency_uniq",
            "unique(connection_id, direction, idempotency_key)",
            "A business event is recorded once per connection and direction.",
        ),
    ]

    def init(self):
        res = super().init()
        # The inbound rate limit counts a connection's messages of the last minute.
        tools.create_index(
            self.env.cr,
            "finance_connect_message_inbound_recent_idx",
            self._table,
            ["connection_id", "create_date"],
            where="direction = 'in'",
        )
        return res

    # ------------------------------------------------------------------
    # Append-only
    # ------------------------------------------------------------------

    def unlink(self):  # pylint: disable=method-required-super,no-raise-unlink
        # Append-only by design: messages are archived, never deleted.
        raise UserError(  # pylint: disable=no-raise-unlink
            self.env._("Integration messages are never deleted; old ones are archived.")
        )

    @api.depends("content_type")
    @api.depends_context("uid")
    def _compute_payload_display(self):
        is_admin = self.env.user.has_group(ADMIN_GROUP)
        for msg in self:
            text = msg.sudo().payload or ""
            text = text if is_admin else mask_payload(text)
            msg.payload_display = _pretty_json(text) if "json" in (msg.content_type or "") else text

    def _get_payload_bytes(self):
        """The exact bytes received (or sent) for this message."""
        self.ensure_one()
        msg = self.sudo()
        return inbound.payload_bytes(msg.payload, msg.payload_encoding)

    def _set_state(self, state, note="", **vals):
        """The only way a message changes state: records who, when and why."""
        stamp = fields.Datetime.now().isoformat(sep=" ", timespec="seconds")
        for msg in self:
            line = f"{stamp} {self.env.user.login}: {msg.state} -> {state}"
            if note:
                line += f" ({note[:200]})"
            msg.sudo().write(dict(vals, state=state, state_log=(msg.state_log or "") + line + "\n"))

    # ------------------------------------------------------------------
    # Creation (idempotent)
    # ------------------------------------------------------------------

    @api.model
    def _new_reference(self):
        return "FCM-" + uuid.uuid4().hex[:16].upper()

    @api.model
    def _with_defaults(self, vals):
        """Message values completed with reference, webhook-id, correlation id, hash."""
        vals = dict(vals)
        vals.setdefault("reference", self._new_reference())
        vals.setdefault("webhook_id", "msg_" + uuid.uuid4().hex)
        vals.setdefault("correlation_id", str(uuid.uuid4()))
        if "payload" in vals and vals.get("payload") is not None:
            vals.setdefault("payload_sha256", lib_payloads.sha256_hex(vals["payload"]))
        if not vals.get("company_id"):
            connection = self.env["finance.connect.connection"].browse(vals["connection_id"])
            vals["company_id"] = connection.company_id.id
        return vals

    @api.model
    def _create_idempotent(self, vals):
        """Create a message, or return the existing one for the same event.

        Returns ``(message, created)``. Uniqueness is enforced by the
        database constraint, not by a search before the insert.
        """
        vals = self._with_defaults(vals)
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                message = self.sudo().create(vals)
                message.flush_recordset()
            return message, True
        except psycopg2.errors.UniqueViolation:
            existing = (
                self.sudo()
                .with_context(active_test=False)
                .search(
                    [
                        ("connection_id", "=", vals["connection_id"]),
                        ("direction", "=", vals["direction"]),
                        ("idempotency_key", "=", vals["idempotency_key"]),
                    ],
                    limit=1,
                )
            )
            return existing, False

    @api.model
    def _create_idempotent_many(self, vals_list):
        """``_create_idempotent`` for many: one insert when no event is a duplicate,
        else one savepoint per message (the database constraint decides)."""
        if len(vals_list) <= 1:
            return [self._create_idempotent(vals) for vals in vals_list]
        full = [self._with_defaults(vals) for vals in vals_list]
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                messages = self.sudo().create(full)
                messages.flush_recordset()
            return [(message, True) for message in messages]
        except psycopg2.errors.UniqueViolation:
            return [self._create_idempotent(vals) for vals in full]

    # ------------------------------------------------------------------
    # Outbound: enqueue
    # ------------------------------------------------------------------

    @api.model
    def _enqueue_outbound(self, connection, event_type, payload, **options):
        """Validate ``payload`` and queue it for ``connection``.

        ``options`` are the keyword arguments of ``_prepare_outbound`` (record,
        idempotency_key, subscription, schema_version, res_name, batch_item).
        Returns the message (the existing one when the same event was already
        queued). A payload that does not validate is not sent: the message is
        stored as failed and a schema exception is opened.
        """
        return self._enqueue_outbound_many(
            [dict(options, connection=connection, event_type=event_type, payload=payload)]
        )

    @api.model
    def _enqueue_outbound_many(self, items):
        """Queue many events at once (the keyword arguments of ``_enqueue_outbound``
        per item); returns the messages. Stores them in one insert when none is a
        duplicate, updates the records' state in one statement and schedules the
        drain jobs once. Batch items (``batch_item=True``) are mapped, validated
        and held the same way, then wait as "new" for their subscription's batch
        cron instead of being sent."""
        prepared = [self._prepare_outbound(**item) for item in items]
        results = self._create_idempotent_many([p["vals"] for p in prepared])
        messages = self.browse()
        ready = self.browse()
        batch_items = self.browse()
        for prep, (message, created) in zip(prepared, results, strict=True):
            messages |= message
            if not created:
                continue
            if prep["missing"]:
                message._hold_for_mapping(prep["missing"])
            elif prep["errors"]:
                message._open_schema_exception(prep["errors"])
            elif prep["batch_item"]:
                batch_items |= message
            else:
                ready |= message
        (ready | batch_items)._mark_records_pending()
        ready._enqueue_send(attempt=1)
        return messages

    @api.model
    def _prepare_outbound(
        self,
        connection,
        event_type,
        payload,
        record=None,
        idempotency_key=None,
        subscription=None,
        schema_version=None,
        res_name=None,
        batch_item=False,
    ):
        """Map, validate and serialise one outbound event into message values.

        A ``batch_item`` is stored as "new" (its subscription's batch cron sends
        it) instead of "queued".
        """
        registry = self._get_schema_registry()
        version = schema_version or registry.latest_version(event_type) or 1
        key = (
            idempotency_key
            or payload.get("event_id")
            or lib_payloads.sha256_hex(lib_payloads.canonical_json(payload))
        )
        missing = None
        try:
            payload = connection._map_outbound_payload(event_type, payload)
        except MappingMissing as exc:
            missing = exc
        payload = dict(payload, event_type=event_type, schema_version=version)
        body = lib_payloads.canonical_json(payload).decode()
        errors = []
        if not missing:
            errors = lib_payloads.validate_memo(registry, event_type, version, payload, body)
        vals = {
            "direction": "out",
            "connection_id": connection.id,
            "company_id": connection.company_id.id,
            "event_type": event_type,
            "schema_version": version,
            "idempotency_key": key,
            "payload": body,
            "content_type": "application/json",
            "subscription_id": subscription.id if subscription else False,
            "res_model": record._name if record else False,
            "res_id": record.id if record else False,
            "res_name": (res_name or record.display_name) if record else False,
            "state": "failed" if errors else ("new" if batch_item else "queued"),
            "error": "\n".join(errors) if errors else False,
        }
        if missing:
            vals.update(
                state="new",
                error=str(missing),
                waiting_for=f"{missing.mapping_type}:{missing.value}",
            )
        else:
            vals["mapping_version_ids"] = self._mapping_versions_vals(connection, event_type)
        return {"vals": vals, "missing": missing, "errors": errors, "batch_item": batch_item}

    @api.model
    def _mapping_versions_vals(self, connection, event_type):
        """The ``mapping_version_ids`` value of a payload mapped now: the version
        in force of each of the connection's sets (a batch is not mapped itself,
        its items recorded theirs)."""
        if event_type == "batch":
            return [Command.set([])]
        sets = connection._get_mapping_sets()
        versions = self.env["finance.connect.mapping.version"]._current_versions(sets)
        return [Command.set(sorted(v.id for v in versions.values()))]

    def _open_schema_exception(self, errors):
        """A payload that does not match its schema: failed, and one exception."""
        self.ensure_one()
        self._set_state("failed", "payload does not match its schema")
        self.env["finance.connect.exception"]._open_for_message(
            self,
            "schema",
            self.env._(
                "The %(event)s payload of %(record)s does not match schema version "
                "%(version)s, so it was not sent: %(errors)s. Fix the record (or the "
                "mapping), then replay the message.",
                event=self.event_type,
                record=self.res_name or self.reference,
                version=self.schema_version,
                errors="; ".join(errors[:5]),
            ),
        )
        self._update_record_state()

    def _mark_records_pending(self):
        """Set the related records of queued messages to "pending", one UPDATE per model."""
        by_model = {}
        for msg in self:
            if msg.res_model and msg.res_id and msg.res_model in self.env:
                by_model.setdefault(msg.res_model, set()).add(msg.res_id)
        for model, ids in by_model.items():
            records = self.env[model].sudo().browse(sorted(ids)).exists()
            if "fc_state" in records._fields:
                records._fc_write_state({"fc_state": "pending"})

    @api.model
    def _get_schema_registry(self):
        """The JSON Schema registry of all installed finance_connect addons.

        Extension point: addons add directories through ``_get_schema_dirs``.
        """
        return lib_payloads.cached_registries(tuple(self._get_schema_dirs()))

    @api.model
    def _get_schema_dirs(self):
        """Directories holding ``*.schema.json`` files. EXTEND to add schemas."""
        return [get_module_path("finance_connect") + "/schemas"]

    def _enqueue_send(self, attempt, eta=None):
        """Queue the delivery of one attempt (idempotent per message and attempt).

        First attempts are delivered by the connection's drain jobs, many
        messages per job over one keep-alive connection; later attempts (with
        their backoff) get a job of their own.
        """
        if attempt == 1 and not eta:
            by_connection = {}
            for msg in self:
                by_connection.setdefault(msg.connection_id, set()).add(
                    msg.id % max(1, msg.connection_id.parallel_deliveries)
                )
            for connection, shards in by_connection.items():
                self.env["finance.connect.delivery"]._schedule_drain(connection, shards)
            return
        for msg in self:
            job = msg.with_delay(
                channel=msg.connection_id._get_channel(),
                eta=eta,
                identity_key=f"finance_connect-send-{msg.id}-{attempt}",
                max_retries=0,
                description=f"Send {msg.event_type} {msg.reference} (attempt {attempt})",
            )._job_send(attempt)
            msg.sudo().job_uuid = getattr(job, "uuid", False)

    def _job_send(self, attempt=1):
        """Deliver this message once (its queue job); idempotent. The delivery
        engine does it: ``finance.connect.delivery._send``."""
        return self.env["finance.connect.delivery"]._send(self, attempt)

    def _on_delivered(self):
        """Hook after a successful delivery. EXTEND in format addons."""
        self._update_record_state()
        if self.batch_item_ids:
            self.batch_item_ids._set_state(
                "done", f"batch {self.reference} delivered", done_at=fields.Datetime.now()
            )
            self.batch_item_ids._update_record_state()

    def _on_failed(self):
        """Hook after a message became a dead letter. EXTEND in format addons."""
        self._update_record_state()
        if self.batch_item_ids:
            self.batch_item_ids._set_state("failed", f"batch {self.reference} failed")
            self.batch_item_ids._update_record_state()

    def _update_record_state(self):
        """Reflect the message state on the related invoice / payment / line."""
        for msg in self:
            if not msg.res_model or not msg.res_id or msg.res_model not in self.env:
                continue
            record = self.env[msg.res_model].sudo().browse(msg.res_id).exists()
            if record and "fc_state" in record._fields:
                record._fc_apply_message_state(msg)

    # ------------------------------------------------------------------
    # Inbox actions
    # ------------------------------------------------------------------

    def action_replay(self):
        """Re-run failed messages with the same idempotency key and webhook-id."""
        self._check_act()
        for msg in self.sudo():
            if msg.state in ("done", "duplicate"):
                continue
            if msg.direction == "out":
                if msg.attempt_count == 0 and (msg.waiting_for or msg.state == "failed"):
                    # Never sent (invalid or unmapped): rebuild it from the record.
                    if not msg._rebuild_payload():
                        continue
                msg._requeue_outbound("replayed")
            else:
                msg._set_state("queued", "replayed", error=False)
                msg._enqueue_process()
            self.env["finance.connect.audit"]._log(msg, "replay")
        return True

    def _hold_for_mapping(self, missing):
        """Keep the message waiting and open one mapping exception per missing value."""
        self.ensure_one()
        self._set_state(
            "new", f"waiting for a mapping of {missing.mapping_type} " f"{missing.value!r}"
        )
        self._update_record_state()
        self.env["finance.connect.exception"]._open_for_mapping(
            self.connection_id, missing, self.company_id
        )

    @api.model
    def _replay_waiting(self, connection, mapping_type, value):
        """Replay the messages that waited for ``mapping_type`` ``value``."""
        waiting = self.sudo().search(
            [
                ("connection_id", "in", connection.ids),
                ("state", "=", "new"),
                ("waiting_for", "=", f"{mapping_type}:{value}"),
            ]
        )
        for msg in waiting:
            if not msg._rebuild_payload():
                continue
            msg._requeue_outbound("mapping created")
        return waiting

    def _is_batch_item(self):
        """An outbound event that waits for its subscription's batch cron (and
        is in no batch yet), rather than being sent on its own."""
        self.ensure_one()
        return (
            self.direction == "out"
            and self.event_type != "batch"
            and not self.batch_id
            and self.subscription_id._get_effective_mode() == "batch"
        )

    def _requeue_outbound(self, note):
        """Put a fixed or replayed outbound message back in line: a batch item
        waits for the next batch, any other message is queued for delivery."""
        self.ensure_one()
        if self._is_batch_item():
            self._set_state("new", f"{note}: waits for the next batch", error=False)
            self._update_record_state()
            return
        self._set_state("queued", note, error=False)
        self._enqueue_send(self.attempt_count + 1)

    def _rebuild_payload(self):
        """Rebuild and re-validate an outbound payload from its record (after a fix).

        Returns whether the message can be sent now.
        """
        self.ensure_one()
        record = self.env[self.res_model].browse(self.res_id).exists() if self.res_model else None
        if not record or not hasattr(record, "_fc_prepare_payload"):
            return not self.waiting_for and not self.error
        if hasattr(record, "_fc_rebuild_payload"):
            stored = json.loads(self.sudo().payload or "{}")
            payload = record._fc_rebuild_payload(self.event_type, stored)
        else:
            payload = record._fc_prepare_payload(self.event_type)
        try:
            payload = self.connection_id._map_outbound_payload(self.event_type, payload)
        except MappingMissing as exc:
            self.sudo().write({"error": str(exc), "waiting_for": f"{exc.mapping_type}:{exc.value}"})
            self._hold_for_mapping(exc)
            return False
        registry = self._get_schema_registry()
        payload = dict(payload, event_type=self.event_type, schema_version=self.schema_version)
        errors = registry.validate(self.event_type, self.schema_version, payload)
        body = lib_payloads.canonical_json(payload).decode()
        self.sudo().write(
            {
                "payload": body,
                "payload_sha256": lib_payloads.sha256_hex(body),
                "error": "\n".join(errors) or False,
                "waiting_for": False,
                "mapping_version_ids": self._mapping_versions_vals(
                    self.connection_id, self.event_type
                ),
            }
        )
        if errors:
            self._set_state("failed", "payload still does not match its schema")
        return not errors

    def _check_act(self):
        """A manager acting on these messages: the group, then the company rules
        of every message (read: messages are written by the engine only)."""
        self.env["finance.connect.exception"]._check_manager()
        self.check_access("read")

    def action_cancel(self):
        self._check_act()
        for msg in self.sudo().filtered(lambda m: m.state not in FINAL_STATES):
            msg._set_state("cancelled", "cancelled by user")
            self.env["finance.connect.audit"]._log(msg, "cancel")
            msg._update_record_state()

    # ------------------------------------------------------------------
    # Inbound processing (handlers: see finance.connect.handler)
    # ------------------------------------------------------------------

    def _enqueue_process(self):
        for msg in self:
            job = msg.with_delay(
                channel=msg.connection_id._get_channel(),
                identity_key=f"finance_connect-process-{msg.id}-{msg.attempt_count + 1}",
                max_retries=0,
                description=f"Process {msg.event_type} {msg.reference}",
            )._job_process()
            msg.sudo().job_uuid = getattr(job, "uuid", False)

    def _job_process(self):
        """Process one inbound message through its handler; idempotent.

        The webhook route does not spend an UPDATE on the message to record
        its job: the job records itself when it runs.
        """
        self.ensure_one()
        job_uuid = self.env.context.get("job_uuid")
        if job_uuid and self.job_uuid != job_uuid:
            self.sudo().job_uuid = job_uuid
        msg = self.sudo()
        if msg.state in FINAL_STATES or msg.state == "failed":
            return f"nothing to do: message is {msg.state}"
        return self.env["finance.connect.handler"]._dispatch(msg)

    # ------------------------------------------------------------------
    # Retention
    # ------------------------------------------------------------------

    @api.model
    def _get_retention_event_types(self):
        """``{retention class: set of event types}`` of the classes recognised by
        their event type. EXTEND in the addon that defines the event types
        (bank: statements and payment files; reporting: feed deliveries)."""
        return {"statement": set(), "payment_file": set(), "feed": set()}

    @api.depends("event_type", "direction")
    def _compute_retention_class(self):
        by_event = {
            event: rclass
            for rclass, events in self._get_retention_event_types().items()
            for event in events
        }
        for msg in self:
            msg.retention_class = by_event.get(msg.event_type) or (
                "webhook" if msg.direction == "in" else "other"
            )

    @api.model
    def _retention_class_domain(self, retention_class):
        """Domain of the messages of one retention class (the rule of
        ``_compute_retention_class`` as a domain)."""
        named = self._get_retention_event_types()
        if retention_class in named:
            return [("event_type", "in", sorted(named[retention_class]))]
        listed = sorted(set().union(*named.values()))
        direction = "in" if retention_class == "webhook" else "out"
        return [("direction", "=", direction), ("event_type", "not in", listed)]

    def _search_retention_class(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("Unsupported search on the retention class."))
        values = [value] if isinstance(value, str) else list(value or [])
        domain = expression.OR([self._retention_class_domain(v) for v in values]) or [
            expression.FALSE_LEAF
        ]
        if operator in ("!=", "not in"):
            return ["!", *domain]
        return domain

    def _compute_on_legal_hold(self):
        held = self.sudo().search([("id", "in", self.ids), ("on_legal_hold", "=", True)])
        for msg in self:
            msg.on_legal_hold = msg in held

    def _search_on_legal_hold(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on the legal hold."))
        holds = self.env["finance.connect.legal.hold"].sudo().search([("active", "=", True)])
        domain = expression.OR([hold._get_covered_domain() for hold in holds]) or [
            expression.FALSE_LEAF
        ]
        if (operator == "=") != value:
            return ["!", *domain]
        return domain

    @api.model
    def _get_retention_days(self, company, retention_class):
        """Retention in days of ``retention_class`` in ``company``: the company's
        setting, else the system default ``finance_connect.retention_days``."""
        days = company[RETENTION_DAY_FIELDS[retention_class]]
        if days > 0:
            return days
        return int(
            self.env["ir.config_parameter"].sudo().get_param("finance_connect.retention_days", 90)
        )

    @api.model
    def _cron_archive_old_messages(self):
        """Archive done messages older than the retention of their class in
        their company; failed ones stay, and so do the messages a legal hold
        covers (``finance.connect.legal.hold``). Archiving only sets
        ``active``: the payload and its ``payload_sha256`` stay, so an
        archived payload is still verified by its hash. Returns the count."""
        Message = self.sudo()
        Hold = self.env["finance.connect.legal.hold"]
        now = fields.Datetime.now()
        archived = 0
        companies = [
            company
            for (company,) in Message._read_group([("state", "in", FINAL_STATES)], ["company_id"])
        ]
        for company in companies:
            unheld = Hold._get_unheld_domain(company)
            counts = {}
            for rclass, _label in RETENTION_CLASSES:
                limit = now - timedelta(days=self._get_retention_days(company, rclass))
                old = Message.search(
                    expression.AND(
                        [
                            [
                                ("company_id", "=", company.id),
                                ("state", "in", FINAL_STATES),
                                ("create_date", "<", limit),
                            ],
                            self._retention_class_domain(rclass),
                            unheld,
                        ]
                    )
                )
                old.write({"active": False})
                counts[rclass] = len(old)
            if any(counts.values()):
                # one line per run and company in the audit trail: what was archived
                detail = ", ".join(f"{rclass}: {count}" for rclass, count in counts.items())
                self.env["finance.connect.audit"]._log(
                    Message.browse(), "messages_archived", detail, company=company
                )
            archived += sum(counts.values())
        return archived


def _pretty_json(text):
    """JSON indented for a person to read (the stored bytes are not changed);
    anything that is not JSON is shown as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
