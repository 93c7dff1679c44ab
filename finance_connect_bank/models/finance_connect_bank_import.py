"""The statement import engine: a bank file in, statement lines out, once.

One entry point, :meth:`FinanceConnectBankImport._import_file`, used by the
upload wizard, the inbound handler (webhook push, scheduled pull) and the
benchmark alike:

1. the file is recorded as an inbound ``finance.connect.message`` whose
   idempotency key is the SHA-256 of the file (the same file twice is one
   message);
2. ZIP archives are unpacked, each member's format detected, camt files
   validated against their XSD (when the schema folder holds it) and parsed;
   a broken or unknown file is refused with an error naming it, and an
   exception is opened;
3. each statement is imported on its own, in its own savepoint: journal from
   the account, currency check, balance check (opening + entries = closing,
   and the opening follows on from the journal's previous statement), lines
   whose import id the journal already has are skipped, the others created.
   A statement that fails imports nothing and opens an exception; the other
   statements of the file still import. These checks are
   ``finance.connect.bank.import.check`` (finance_connect_bank_import_check.py).
"""

import hashlib
import logging
import re
from decimal import Decimal
from pathlib import Path

import psycopg2

from odoo import api, fields, models
from odoo.modules.module import get_module_path
from odoo.tools import SQL, mute_logger

from ..lib import camt, detect, pain002
from ..lib import payload as lib_payload
from ..lib.model import ParseError, sanitize_account

_logger = logging.getLogger(__name__)

DEFAULT_MAX_MIB = 50
XSD_PARAM = "finance_connect_bank.xsd_dir"
MAX_MIB_PARAM = "finance_connect_bank.max_file_mib"
# Explanations of skipped entries: at most this many in the result summary,
# and this many on the message.
SUMMARY_DUPLICATES = 20
MESSAGE_DUPLICATES = 2000
_XSD_LINE = re.compile(r"^line (\d+): ")


class FinanceConnectBankImport(models.AbstractModel):
    _name = "finance.connect.bank.import"
    _description = "Finance Connect bank file import"

    # ------------------------------------------------------------------
    # The file as an inbound message
    # ------------------------------------------------------------------

    @api.model
    def _record_file(
        self, data, filename, connection=None, event_type="statement", idempotency_key=None, **vals
    ):
        """Record ``data`` as an inbound message; returns ``(message, created)``.

        The idempotency key is the file's SHA-256 unless ``idempotency_key``
        (e.g. the bank's file id of a pulled file) is given; ``vals`` are
        further message values (``external_id``, ``state``).
        """
        connection = connection or self.env["finance.connect.connection"]._bank_upload_connection()
        payload, content_type = lib_payload.encode_file(data, filename)
        digest = hashlib.sha256(data).hexdigest()
        return self.env["finance.connect.message"]._create_idempotent(
            {
                "direction": "in",
                "connection_id": connection.id,
                "event_type": event_type,
                "idempotency_key": idempotency_key or "file:" + digest,
                "payload": payload,
                "payload_sha256": digest,
                "content_type": content_type,
                "fc_filename": filename,
                "res_name": filename,
                **vals,
            }
        )

    @api.model
    def _decode_payload(self, message):
        """The file bytes of an inbound message (see :func:`..lib.payload.encode_file`)."""
        return lib_payload.decode_file(message.sudo().payload, message.content_type)

    # ------------------------------------------------------------------
    # Files
    # ------------------------------------------------------------------

    @api.model
    def _import_file(
        self, data, filename, connection=None, journal=None, csv_profile=None, message=None
    ):
        """Import a bank file (or ZIP of them); returns a result dict.

        ``result["summary"]`` is the text shown to the user; ``new`` and
        ``duplicates`` count lines, ``errors`` lists "file: problem" texts.
        """
        uploaded = message is None  # a file given by hand, not a message of the engine
        if uploaded:
            message, _created = self._record_file(data, filename, connection)
        result = self._already_imported(message) or self._import_message_file(
            data, filename, message, journal, csv_profile
        )
        if uploaded:
            self._close_upload(message, result)
        return result

    @api.model
    def _close_upload(self, message, result):
        """End a manual upload's message as an inbound message ends: Done, linked to
        the (first) statement it filled, or Failed when a file or statement of it
        was refused (the exception inbox holds the why). The engine closes the
        messages it processes itself."""
        statements = self.env["account.bank.statement"].browse(
            [o["statement_id"] for o in result["statements"] if o.get("statement_id")]
        )
        vals = {"done_at": fields.Datetime.now()}
        if statements:
            first = statements[:1].sudo()
            vals.update(
                res_model=first._name,
                res_id=first.id,
                res_name=first.display_name,
            )
        state = "failed" if result["errors"] else "done"
        if message.state != state:
            message._set_state(state, result["summary"].splitlines()[0][:200], **vals)

    @api.model
    def _import_message_file(self, data, filename, message, journal, csv_profile):
        """Import the file of ``message`` (see :meth:`_import_file`)."""
        result = {
            "message_id": message.id,
            "statements": [],
            "new": 0,
            "duplicates": 0,
            "errors": [],
            "file_errors": [],
            "notes": [],
            "warnings": [],
            "duplicate_details": [],
            "line_ids": [],
        }
        limit = self._max_bytes()
        try:
            if len(data) > limit:
                raise ParseError(
                    f"the file is {len(data)} bytes, over the limit of {limit} bytes", filename
                )
            members = list(detect.iter_files(data, filename))
        except ParseError as exc:
            self._file_error(result, message, filename, exc)
            return self._finish(result)
        for name, content in members:
            self._import_member(result, message, name, content, journal, csv_profile)
        self._record_on_message(result, message)
        if not result["errors"] and not result["notes"]:
            message.sudo().write(
                {
                    "fc_import_complete": True,
                    "fc_import_new": message.fc_import_new + result["new"],
                    "fc_import_lines": result["new"] + result["duplicates"],
                }
            )
        return self._finish(result)

    @api.model
    def _already_imported(self, message):
        """The result of importing again a file that was imported completely.

        The same bytes give the same entries and import ids: when every
        statement of the file was imported (or already there) and every line
        this message created still exists, nothing can be new, and the file
        is not parsed again. Returns None when the file must be imported.
        """
        message = message.sudo()
        if not message.fc_import_complete:
            return None
        self.env["account.bank.statement.line"].flush_model(["fc_message_id"])
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM account_bank_statement_line WHERE fc_message_id = %s",
                message.id,
            )
        )
        if self.env.cr.fetchone()[0] != message.fc_import_new:
            return None
        result = {
            "message_id": message.id,
            "statements": [],
            "new": 0,
            "duplicates": message.fc_import_lines,
            "errors": [],
            "file_errors": [],
            "notes": [
                self.env._(
                    "identical to %(file)s, imported as message %(ref)s: nothing new",
                    file=message.fc_filename or "?",
                    ref=message.reference,
                )
            ],
            "warnings": [],
            "duplicate_details": self.env[
                "finance.connect.bank.import.check"
            ]._explain_message_lines(message),
            "line_ids": [],
        }
        return self._finish(result)

    @api.model
    def _max_bytes(self):
        param = self.env["ir.config_parameter"].sudo().get_param(MAX_MIB_PARAM)
        return int(float(param or DEFAULT_MAX_MIB) * 1024 * 1024)

    @api.model
    def _import_member(self, result, message, name, content, journal, csv_profile):
        try:
            kind = detect.detect_format(content, name)
            if kind == "pain.002":
                report = pain002.parse_pain002(content, name)
                text = self.env["finance.connect.bank.status"]._apply_pain002(report, message)
                result["notes"].append(f"{name}: {text}")
                return
            deviations = []
            if kind.startswith("camt."):
                deviations = self._validate_xsd(content)
                if deviations and message.connection_id.sudo().fc_bank_xsd_strict:
                    self._refuse_off_schema(deviations, name, message)
            profile = csv_profile._to_lib_profile() if csv_profile else None
            statements = detect.parse_any(content, name, csv_profile=profile)
        except ParseError as exc:
            if csv_profile and not getattr(exc, "record", None):
                # The profile is what reads the columns: Fix opens it.
                exc.record = csv_profile
                exc.hint = getattr(exc, "hint", None) or self.env._(
                    "Nothing of it was imported. Check that CSV profile %(profile)s (Fix "
                    "opens it) matches the file: separator, header lines, columns, date and "
                    "amount formats; then upload the file again.",
                    profile=csv_profile.display_name,
                )
            self._file_error(result, message, name, exc)
            return
        if deviations:
            warning = self.env._(
                "%(file)s: imported although it deviates from its ISO 20022 schema in "
                "%(n)s place(s) (the import read everything it needs): %(errors)s",
                file=name,
                n=len(deviations),
                errors="; ".join(deviations[:10]),
            )
            result["warnings"].append(warning)
            for statement in statements:
                statement.raw["schema_warning"] = warning
        for statement in statements:
            outcome = self._import_statement(statement, name, message, journal)
            result["statements"].append(outcome)
            result["new"] += outcome.get("new", 0)
            result["duplicates"] += outcome.get("duplicates", 0)
            result["line_ids"] += outcome.get("line_ids", [])
            result["duplicate_details"] += outcome.get("duplicate_details", [])
            if outcome["status"] == "refused":
                result["errors"].append(outcome["text"])

    @api.model
    def _refuse_off_schema(self, deviations, name, message):
        """Raise the ParseError of a camt file off its schema on a strict connection."""
        first = _XSD_LINE.match(deviations[0])
        error = ParseError(
            self.env._(
                "does not match its ISO 20022 schema: %(errors)s",
                errors="; ".join(deviations[:3]),
            ),
            name,
            int(first.group(1)) if first else None,
        )
        error.hint = self.env._(
            "Nothing of it was imported: connection %(conn)s refuses files off their schema "
            "('Refuse files off the schema'). Ask the bank for a file that matches the "
            "schema, or untick that option to import it with a warning.",
            conn=message.connection_id.sudo().display_name,
        )
        raise error

    @api.model
    def _record_on_message(self, result, message):
        """Keep the warnings and the skipped entries of this import on the message."""
        details = result["duplicate_details"]
        if len(details) > MESSAGE_DUPLICATES:
            details = details[:MESSAGE_DUPLICATES] + [
                self.env._("... and %(n)s more", n=len(details) - MESSAGE_DUPLICATES)
            ]
        message.sudo().write(
            {
                "fc_import_warnings": "\n".join(result["warnings"]) or False,
                "fc_import_duplicates": "\n".join(details) or False,
            }
        )

    @api.model
    def _get_xsd_dir(self):
        """Folder of the ISO 20022 XSDs (``camt.05X.001.NN.xsd``).

        The system parameter ``finance_connect_bank.xsd_dir`` names it; by
        default the addon's ``schemas/xsd`` folder (see schemas/README.md).
        """
        param = self.env["ir.config_parameter"].sudo().get_param(XSD_PARAM)
        return (
            Path(param)
            if param
            else Path(get_module_path("finance_connect_bank")) / "schemas" / "xsd"
        )

    @api.model
    def _validate_xsd(self, content):
        folder = self._get_xsd_dir()
        return camt.validate(content, folder) if folder.is_dir() else []

    @api.model
    def _file_error(self, result, message, filename, exc):
        """Record a refused file: the error (file, line) and what to do, in the
        result and in an exception. ``exc.hint``, when set, says what to do."""
        text = str(exc).rstrip(". ")
        hint = getattr(exc, "hint", None) or self.env._(
            "Nothing of it was imported. Ask the bank for a correct file, then upload it again."
        )
        result["errors"].append(f"{text}. {hint}")
        result["file_errors"].append(text)
        if not self.env.context.get("fc_bank_file_exception", True):
            return
        self.env["finance.connect.exception"]._open(
            "bank_file",
            self.env._("Bank file refused: %(file)s", file=filename or message.reference)[:200],
            self.env._(
                "The bank file %(file)s (message %(ref)s) was refused: %(error)s. %(hint)s",
                file=filename or "?",
                ref=message.reference,
                error=text,
                hint=hint,
            ),
            connection=message.connection_id,
            message=message,
            company=message.company_id,
            fingerprint=f"bankfile:{message.id}:{filename}",
            fix=getattr(exc, "record", None),
        )

    @api.model
    def _finish(self, result):
        parts = [
            self.env._(
                "%(new)s new, %(dup)s already imported", new=result["new"], dup=result["duplicates"]
            )
        ]
        parts += [o["text"] for o in result["statements"]]
        parts += result["notes"]
        parts += result.get("warnings", [])
        parts += [e for e in result["errors"] if e not in parts]
        details = result.get("duplicate_details", [])
        if details:
            parts.append(self.env._("Skipped as already imported:"))
            parts += ["- " + text for text in details[:SUMMARY_DUPLICATES]]
            if len(details) > SUMMARY_DUPLICATES:
                parts.append(
                    self.env._(
                        "... and %(n)s more (all of them on the message)",
                        n=len(details) - SUMMARY_DUPLICATES,
                    )
                )
        result["summary"] = "\n".join(parts)
        return result

    # ------------------------------------------------------------------
    # Statements
    # ------------------------------------------------------------------

    @api.model
    def _import_statement(self, statement, filename, message, journal=None):
        """Import one parsed statement; returns an outcome dict (never raises)."""
        label = f"{filename}: {statement.format} {statement.statement_id or '?'}"
        if statement.kind == "intraday":
            return {
                "status": "informational",
                "text": self.env._(
                    "%(label)s: intraday report, %(n)s entries, informational (not imported)",
                    label=label,
                    n=len(statement.lines),
                ),
            }
        Check = self.env["finance.connect.bank.import.check"]
        try:
            journal = Check._get_statement_journal(
                statement, journal, connection=message.connection_id
            )
            Check._check_currency(statement, journal)
        except ParseError as exc:
            return self._refuse(
                label,
                message,
                getattr(exc, "category", "bank_file"),
                str(exc.message),
                statement,
                record=getattr(exc, "record", None),
            )
        booked = [line for line in statement.lines if line.is_booked()]
        pending = len(statement.lines) - len(booked)
        undated = [line for line in booked if not line.date]
        if undated:
            return self._refuse(
                label,
                message,
                "bank_file",
                self.env._(
                    "%(n)s booked entries have no booking or value date, so they cannot be "
                    "put in the ledger: ask the bank for the file with their dates",
                    n=len(undated),
                ),
                statement,
            )
        journal_key = str(journal.id)
        journal._fc_take_import_turn()
        for attempt in (1, 2):
            import_ids = [line.import_id(journal_key) for line in booked]
            existing = Check._existing_import_ids(journal, import_ids)
            new = [
                (line, key)
                for line, key in zip(booked, import_ids, strict=True)
                if key not in existing
            ]
            duplicates = len(booked) - len(new)
            if not new:
                return {
                    "status": "duplicate",
                    "new": 0,
                    "duplicates": duplicates,
                    "journal_id": journal.id,
                    "duplicate_details": Check._explain_duplicates(
                        journal, booked, import_ids, existing
                    ),
                    "text": self.env._(
                        "%(label)s: 0 new, %(dup)s already imported", label=label, dup=duplicates
                    ),
                }
            problem = Check._check_balances(statement, journal, booked, existing, journal_key)
            if problem:
                previous = self.env["account.bank.statement"].search(
                    [("journal_id", "=", journal.id)], order="date desc, id desc", limit=1
                )
                return self._refuse(
                    label,
                    message,
                    "balance_mismatch",
                    problem,
                    statement,
                    record=previous or journal,
                )
            try:
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    lines = self._create_statement(statement, journal, new, message, filename)
                break
            except psycopg2.errors.UniqueViolation:
                # Another import created some of these lines meanwhile: the
                # constraint is the truth; count again.
                if attempt == 2:
                    raise
        try:
            with self.env.cr.savepoint():
                self.env["finance.connect.bank.matcher"]._match_lines(lines)
        except Exception:
            _logger.exception("finance_connect_bank: matching failed after %s", label)
        try:
            with self.env.cr.savepoint():
                # The statement arrived: its SLA rules clear now, not at the next cron.
                self.env["finance.connect.sla.rule"]._fc_on_statement_arrived(journal)
        except Exception:
            _logger.exception("finance_connect_bank: SLA check failed after %s", label)
        text = self.env._(
            "%(label)s: %(new)s new, %(dup)s already imported",
            label=label,
            new=len(new),
            dup=duplicates,
        )
        if pending:
            text += self.env._(" (%(n)s pending entries not imported)", n=pending)
        differing = [line for line, _key in new if "detail_difference" in line.raw]
        if differing:
            text += self.env._(
                "; %(n)s entries do not add up to their transaction details (difference "
                "%(diff)s, bank charges?): see 'Details differ' on the lines",
                n=len(differing),
                diff=sum((line.raw["detail_difference"] for line in differing), Decimal(0)),
            )
        return {
            "status": "imported",
            "new": len(new),
            "duplicates": duplicates,
            "duplicate_details": Check._explain_duplicates(journal, booked, import_ids, existing),
            "journal_id": journal.id,
            "statement_id": lines.statement_id[:1].id,
            "line_ids": lines.ids,
            "text": text,
        }

    @api.model
    def _refuse(self, label, message, category, problem, statement, record=None):
        """Refuse one statement of a file: an exception of ``category`` whose
        "Fix" opens ``record`` (the journal, the journals, the mapping sets)."""
        line = statement.raw.get("source_line")
        text = f"{label} (line {line}): {problem}" if line else f"{label}: {problem}"
        summary = {
            "balance_mismatch": self.env._("Balance mismatch: %(label)s", label=label),
            "bank_account": self.env._("Unknown bank account: %(label)s", label=label),
            "bank_currency": self.env._("Currency mismatch: %(label)s", label=label),
        }.get(category) or self.env._("Statement refused: %(label)s", label=label)
        advice = (
            self.env._(
                "Check the file with the bank (or the previous statement of the journal, "
                "which Fix opens), then import it again."
            )
            if category == "balance_mismatch"
            else self.env._("Then import the file again.")
        )
        company = record[:1].company_id if record and "company_id" in record else None
        self.env["finance.connect.exception"]._open(
            category,
            summary[:200],
            self.env._(
                "%(text)s. Nothing of this statement was imported; the other statements of "
                "the file were. %(advice)s",
                text=text,
                advice=advice,
            ),
            connection=message.connection_id,
            message=message,
            record=record[:1] if record and len(record) == 1 else None,
            company=company or message.company_id,
            fingerprint=f"bankstmt:{message.id}:{label}",
            fix=record,
        )
        return {
            "status": "refused",
            "new": 0,
            "duplicates": 0,
            "text": text,
            "category": category,
            "record": record,
        }

    @api.model
    def _create_statement(self, statement, journal, new, message, filename):
        """Create the statement (when it has balances) and its new lines."""
        record = self.env["account.bank.statement"]
        if statement.opening_balance is not None and statement.closing_balance is not None:
            new_total = sum((line.amount for line, _key in new), Decimal(0))
            record = record.create(
                {
                    "name": statement.statement_id or statement.sequence or filename,
                    "reference": (filename or "")[:100] or False,
                    "journal_id": journal.id,
                    "balance_start": float(statement.closing_balance - new_total),
                    "balance_end_real": float(statement.closing_balance),
                    "fc_import_warning": statement.raw.get("schema_warning") or False,
                }
            )
        partners = self._find_partners([line for line, _key in new], journal.company_id)
        vals_list = [
            self._prepare_line_vals(line, key, journal, record, message, partners)
            for line, key in new
        ]
        return self.env["account.bank.statement.line"]._fc_create_bulk(vals_list)

    @api.model
    def _prepare_line_vals(self, line, key, journal, statement, message, partners):
        account = line.partner_iban or line.raw.get("partner_account")
        return {
            "journal_id": journal.id,
            "statement_id": statement.id or False,
            "date": line.date,
            "amount": float(line.amount),
            "payment_ref": line.payment_ref or line.partner_name or line.end_to_end_id or "/",
            "partner_id": partners.get(id(line)) or False,
            "partner_name": line.partner_name or False,
            "account_number": account or False,
            "transaction_type": (line.transaction_type or False),
            "fc_import_id": key,
            "fc_entry_ref": line.entry_reference or False,
            "fc_servicer_ref": line.account_servicer_reference or False,
            "fc_end_to_end_id": line.end_to_end_id or False,
            "fc_mandate_id": line.mandate_id or False,
            "fc_creditor_ref": line.creditor_reference or False,
            "fc_bank_tx_code": line.bank_transaction_code or False,
            "fc_detail_difference": float(line.raw.get("detail_difference") or 0),
            "fc_detail_mismatch": "detail_difference" in line.raw,
            "fc_message_id": message.id,
        }

    @api.model
    def _find_partners(self, lines, company):
        """{id(line): partner id}: by counterparty account, then by exact name.

        Two queries for all the lines; an account or name that belongs to
        several partners gives none.
        """
        accounts = {
            sanitize_account(line.partner_iban or line.raw.get("partner_account")) for line in lines
        } - {""}
        names = {(line.partner_name or "").strip().lower() for line in lines} - {""}
        by_account, by_name = {}, {}
        if accounts:
            banks = self.env["res.partner.bank"].search_read(
                [
                    ("sanitized_acc_number", "in", list(accounts)),
                    ("company_id", "in", [False, company.id]),
                ],
                ["sanitized_acc_number", "partner_id"],
            )
            partners = self.env["res.partner"].browse({b["partner_id"][0] for b in banks})
            commercial = {p.id: p.commercial_partner_id.id for p in partners}
            for bank in banks:
                by_account.setdefault(bank["sanitized_acc_number"], set()).add(
                    commercial[bank["partner_id"][0]]
                )
        if names:
            self.env["res.partner"].flush_model(["name", "company_id", "active", "parent_id"])
            self.env.cr.execute(
                SQL(
                    """SELECT lower(name), id FROM res_partner
                        WHERE lower(name) = ANY(%s) AND active AND parent_id IS NULL
                          AND (company_id IS NULL OR company_id = %s)""",
                    list(names),
                    company.id,
                )
            )
            for name, partner_id in self.env.cr.fetchall():
                by_name.setdefault(name, set()).add(partner_id)
        found = {}
        for line in lines:
            account = sanitize_account(line.partner_iban or line.raw.get("partner_account"))
            candidates = (
                by_account.get(account)
                or by_name.get((line.partner_name or "").strip().lower())
                or set()
            )
            if len(candidates) == 1:
                found[id(line)] = next(iter(candidates))
        return found
