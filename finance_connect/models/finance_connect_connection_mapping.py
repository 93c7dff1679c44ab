"""Outbound payloads mapped with the connection's mapping sets.

Fills ``external_account`` of invoice and journal entry lines and
``external_code`` of partners. A type the connection's sets have no line for
is not mapped (its values go out as today); as soon as a set has a line of
a type, every value of that type must map: an unmapped or ambiguous value
raises :class:`MappingMissing` and the message waits (never a guess).
"""

import copy
from datetime import date

from odoo import fields, models

from ..exceptions import MappingMissing
from ..lib import mapping as lib_mapping
from .finance_connect_mapping_line import normalize_vat


class FinanceConnectConnection(models.Model):
    _inherit = "finance.connect.connection"

    mapping_ids = fields.Many2many(
        "finance.connect.mapping",
        "finance_connect_mapping_connection_rel",
        "connection_id",
        "mapping_id",
        string="Mapping sets",
        check_company=True,
        help="How Odoo values translate to this system's codes.",
    )

    def _fc_get_mapping_sets(self):
        """The active mapping sets of this connection (read as superuser: the
        user posting an invoice need not see the configuration)."""
        self.ensure_one()
        return self.sudo().mapping_ids.filtered(
            lambda m: m.active and m.company_id == self.company_id
        )

    def _fc_get_mapping_table(self):
        self.ensure_one()
        sets = self._fc_get_mapping_sets()
        return sets._fc_get_table() if sets else None

    def _map_outbound_payload(self, event_type, payload):
        # EXTENDS finance_connect
        payload = super()._map_outbound_payload(event_type, payload)
        if event_type == "batch":
            return payload  # its items were mapped one by one when they were stored
        table = self._fc_get_mapping_table()
        if table is None or not any(
            table.has_type(t, lib_mapping.OUTBOUND) for t in ("account", "partner")
        ):
            return payload
        payload = copy.deepcopy(payload)
        self._fc_map_node(payload, table, _payload_date(payload))
        return payload

    def _fc_map_node(self, node, table, on_date):
        """Walk a payload and fill the external codes it has room for."""
        if isinstance(node, list):
            for item in node:
                self._fc_map_node(item, table, on_date)
            return
        if not isinstance(node, dict):
            return
        if (
            "external_account" in node
            and node.get("account_code")
            and table.has_type("account", lib_mapping.OUTBOUND)
        ):
            node["external_account"] = self._fc_resolve(
                table, "account", node["account_code"], on_date
            )
        if {"external_code", "vat", "ref", "id"} <= node.keys() and table.has_type(
            "partner", lib_mapping.OUTBOUND
        ):
            node["external_code"] = self._fc_resolve_partner(table, node, on_date)
        for value in node.values():
            if isinstance(value, dict | list):
                self._fc_map_node(value, table, on_date)

    def _fc_resolve(self, table, mapping_type, value, on_date, direction=lib_mapping.OUTBOUND):
        try:
            return table.resolve(mapping_type, value, direction, on_date).target
        except lib_mapping.MappingError as exc:
            raise MappingMissing(mapping_type, value, _reason(exc)) from exc

    def _fc_resolve_partner(self, table, partner, on_date):
        keys = []
        if partner.get("vat"):
            keys.append(f"vat:{normalize_vat(partner['vat'])}")
        if partner.get("ref"):
            keys.append(f"ref:{partner['ref']}")
        if partner.get("id"):
            xmlid = self.env["res.partner"].browse(partner["id"]).sudo().get_external_id()
            if xmlid.get(partner["id"]):
                keys.append(f"xmlid:{xmlid[partner['id']]}")
        if not keys:
            raise MappingMissing(
                "partner",
                f"id:{partner.get('id')}",
                "unmapped: the partner has no VAT, reference or external ID to map it by",
            )
        try:
            return table.resolve_any("partner", keys, lib_mapping.OUTBOUND, on_date).target
        except lib_mapping.MappingError as exc:
            raise MappingMissing("partner", exc.value, _reason(exc)) from exc

    def _fc_map_value(self, mapping_type, value, direction="outbound", on_date=None):
        """Map one value with this connection's sets, for format addons.

        Outbound: an Odoo value (account code, journal code, ``vat:<VAT>`` /
        ``ref:<ref>`` / ``xmlid:<external id>`` for partners, tax name,
        currency ISO code, company name, analytic code, payment method code,
        bank account number) gives the external code. Inbound: an external
        code gives the Odoo value. Returns ``None`` when the connection maps
        nothing of ``mapping_type``; raises :class:`MappingMissing` for an
        unmapped or ambiguous value.
        """
        self.ensure_one()
        table = self._fc_get_mapping_table()
        if table is None or not table.has_type(mapping_type, direction):
            return None
        return self._fc_resolve(table, mapping_type, value, on_date, direction)


def _reason(exc):
    if isinstance(exc, lib_mapping.Ambiguous):
        lines = ", ".join(str(i) for i in exc.line_ids)
        return f"ambiguous: lines {lines} decide it differently"
    return "unmapped"


def _payload_date(payload):
    """The business date of a payload (invoice or entry date), else today."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]  # record.synced wraps the record's data
    if isinstance(data, dict):
        for key in ("invoice_date", "date"):
            value = data.get(key)
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value[:10])
                except ValueError:
                    continue
    return None
