"""The Odoo side of mapping lines: the types, and the Odoo records behind them.

A mapping line of a type names an Odoo value (its ``source_value``): the code
of an account or journal, a partner's VAT number, reference or external ID, a
tax or currency name... This AbstractModel knows, per type, the Odoo model and
line field of the record, the value a record is known by
(``_record_key``), the records of a company (``_company_domain``,
``_search_records``), and checks that a line's Odoo record exists, is of
its type and of its set's company. Mapping lines, the coverage of mapping sets
and the sibling addons' lookups share it.
"""

from odoo import api, models
from odoo.exceptions import ValidationError

from ..lib import mapping as lib_mapping

MAPPING_TYPES = [
    ("account", "Account"),
    ("journal", "Journal"),
    ("partner", "Partner"),
    ("tax", "Tax"),
    ("currency", "Currency"),
    ("company", "Company"),
    ("analytic", "Analytic account"),
    ("payment_method", "Payment method"),
    ("bank_account", "Bank account"),
]
# Odoo model and line field holding the Odoo record of each type.
TYPE_RECORDS = {
    "account": ("account.account", "account_id"),
    "journal": ("account.journal", "journal_id"),
    "partner": ("res.partner", "partner_id"),
    "tax": ("account.tax", "tax_id"),
    "currency": ("res.currency", "currency_id"),
    "company": ("res.company", "mapped_company_id"),
    "analytic": ("account.analytic.account", "analytic_account_id"),
    "payment_method": ("account.payment.method.line", "payment_method_line_id"),
    "bank_account": ("res.partner.bank", "bank_account_id"),
}
RECORD_FIELDS = [f for _m, f in TYPE_RECORDS.values()] + ["account_group_id"]
# Closed sets of values: a prefix rule makes no sense there.
NO_PREFIX_TYPES = ("currency", "company")
PARTNER_KEYS = [("vat", "VAT"), ("ref", "Reference"), ("xmlid", "External ID")]


class FinanceConnectMappingSource(models.AbstractModel):
    _name = "finance.connect.mapping.source"
    _description = "Finance Connect mapping: Odoo records by type"

    @api.model
    def _record_key(self, mapping_type, record, partner_key="vat", company=None):
        """The Odoo value of ``record`` for a line of ``mapping_type``."""
        if not record:
            return ""
        if mapping_type == "account":
            return (record.with_company(company) if company else record).code or ""
        if mapping_type == "journal":
            return record.code or ""
        if mapping_type == "partner":
            if partner_key == "ref":
                return record.ref or ""
            if partner_key == "xmlid":
                return record.get_external_id().get(record.id) or ""
            return lib_mapping.normalize_vat(record.vat)
        if mapping_type in ("tax", "currency", "company"):
            return record.name or ""
        if mapping_type == "analytic":
            return record.code or record.name or ""
        if mapping_type == "payment_method":
            return record.code or ""
        if mapping_type == "bank_account":
            return record.sanitized_acc_number or ""
        return ""

    @api.model
    def _company_domain(self, mapping_type, company):
        model = self.env[TYPE_RECORDS[mapping_type][0]]
        if mapping_type == "currency":
            return []
        if mapping_type == "company":
            return [("id", "child_of", company.id)]
        if mapping_type == "payment_method":
            return [("journal_id.company_id", "parent_of", company.id)]
        return model._check_company_domain(company)

    @api.model
    def _search_records(self, mapping_type, company, keys, partner_key="vat"):
        """Odoo records of ``company`` by Odoo value: ``{key: records}``."""
        keys = {k for k in keys if k}
        if not keys or mapping_type not in TYPE_RECORDS:
            return {}
        model_name = TYPE_RECORDS[mapping_type][0]
        # A lookup for validation: read as superuser, within the set's company.
        Model = self.env[model_name].sudo().with_company(company).with_context(active_test=False)
        domain = self._company_domain(mapping_type, company)
        if mapping_type == "partner" and partner_key == "xmlid":
            records = self.env["res.partner"]
            for key in keys:
                record = self.env.ref(key, raise_if_not_found=False) if "." in key else None
                if record and record._name == "res.partner":
                    records |= record
            records = records.filtered_domain(domain)
        else:
            field = {
                "account": "code",
                "journal": "code",
                "tax": "name",
                "currency": "name",
                "company": "name",
                "payment_method": "code",
                "bank_account": "sanitized_acc_number",
            }.get(mapping_type)
            if mapping_type == "partner":
                field = "ref" if partner_key == "ref" else "vat"
                search_keys = list(keys)
                if field == "vat":
                    search_keys += [k.lower() for k in keys]
                records = Model.search(domain + [(field, "in", search_keys)])
            elif mapping_type == "analytic":
                records = Model.search(
                    domain + ["|", ("code", "in", list(keys)), ("name", "in", list(keys))]
                )
            else:
                records = Model.search(domain + [(field, "in", list(keys))])
        result = {}
        for record in records:
            key = self._record_key(mapping_type, record, partner_key, company)
            if mapping_type == "analytic" and key not in keys and record.name in keys:
                key = record.name
            if key in keys:
                result[key] = result.get(key, Model.browse()) | record
        return result

    @api.model
    def _group_source(self, group):
        """The Odoo value of a line mapping the accounts of account ``group``."""
        return lib_mapping.group_source(group.code_prefix_start, group.code_prefix_end)

    @api.model
    def _group_prefixes(self, group):
        """The code prefixes account ``group`` covers (``None``: too many)."""
        return lib_mapping.group_prefixes(group.code_prefix_start, group.code_prefix_end)

    @api.model
    def _find_line_records(self, lines):
        """``{line: records}`` of the exact ``lines``: the Odoo records their
        Odoo value names in their set's company (one search per type, company
        and partner key)."""
        groups = {}
        for line in lines:
            if line.source_kind == "prefix" or not line.source_value or not line.mapping_type:
                continue
            company = line.mapping_id.company_id or self.env.company
            key = (line.mapping_type, company, line.partner_key or "vat")
            groups.setdefault(key, []).append(line)
        found = {}
        for (mapping_type, company, partner_key), group_lines in groups.items():
            keys = {line._source_key() for line in group_lines}
            by_key = self._search_records(mapping_type, company, keys, partner_key=partner_key)
            for line in group_lines:
                found[line] = by_key.get(line._source_key())
        return found

    @api.model
    def _check_line_records(self, lines):
        """The Odoo record of each of ``lines`` is of the line's type, and of its
        set's company; an account group gives the line's rules
        (``ValidationError``)."""
        labels = dict(MAPPING_TYPES)
        field_labels = {f: lines._fields[f].string for f in RECORD_FIELDS}
        for line in lines:
            own = TYPE_RECORDS[line.mapping_type][1]
            allowed = {own, "account_group_id"} if line.mapping_type == "account" else {own}
            for fname in RECORD_FIELDS:
                if line[fname] and fname not in allowed:
                    raise ValidationError(
                        self.env._(
                            "A %(type)s line cannot point to a %(what)s (%(record)s): the Odoo "
                            "record must match the type of the line.",
                            type=labels[line.mapping_type],
                            what=field_labels[fname],
                            record=line[fname].display_name,
                        )
                    )
            company = line.mapping_id.company_id
            record = line[own]
            if (
                record
                and company
                and not record.filtered_domain(self._company_domain(line.mapping_type, company))
            ):
                raise ValidationError(
                    self.env._(
                        "%(record)s does not belong to %(company)s, the company of the mapping set "
                        "%(set)s.",
                        record=record.display_name,
                        company=company.name,
                        set=line.mapping_id.name,
                    )
                )
            group = line.account_group_id
            if group:
                if company and group.company_id != company.root_id:
                    raise ValidationError(
                        self.env._(
                            "The account group %(group)s does not belong to %(company)s.",
                            group=group.display_name,
                            company=company.name,
                        )
                    )
                if self._group_prefixes(group) is None:
                    raise ValidationError(
                        self.env._(
                            "The account group %(group)s spans %(start)s to %(end)s, which is "
                            "not a range of code prefixes this mapping can enumerate: add one "
                            "rule per prefix instead.",
                            group=group.display_name,
                            start=group.code_prefix_start,
                            end=group.code_prefix_end,
                        )
                    )
                if line.source_value != self._group_source(group):
                    raise ValidationError(
                        self.env._(
                            "The Odoo value of the account group line %(group)s must be %(value)s.",
                            group=group.display_name,
                            value=self._group_source(group),
                        )
                    )

    @api.model
    def _check_line_targets(self, lines):
        """Each exact line of ``lines`` names an Odoo value that exists in its
        set's company, and its Odoo record agrees (``ValidationError``)."""
        labels = dict(MAPPING_TYPES)
        groups = {}
        for line in lines:
            if line.source_kind != "exact" or not line.mapping_id:
                continue
            try:
                lib_mapping.parse_source(line.source_value)
            except ValueError:
                continue  # refused by _check_source
            key = (line.mapping_type, line.mapping_id.company_id, line.partner_key or "vat")
            groups.setdefault(key, lines.browse())
            groups[key] |= line
        for (mapping_type, company, partner_key), group_lines in groups.items():
            found = self._search_records(
                mapping_type, company, {ln._source_key() for ln in group_lines}, partner_key
            )
            for line in group_lines:
                records = found.get(line._source_key())
                if not records:
                    if mapping_type == "partner":
                        what = self.env._(
                            "partner with the %(key)s", key=dict(PARTNER_KEYS)[partner_key]
                        )
                    else:
                        what = labels[mapping_type].lower()
                    raise ValidationError(
                        self.env._(
                            "There is no %(what)s %(value)s in %(company)s: the Odoo value of an "
                            "exact mapping line must exist (check it, or write a rule such as "
                            "%(rule)s to map values by prefix).",
                            what=what,
                            value=line.source_value,
                            company=company.name,
                            rule=(line.source_value or "")[:1] + "*",
                        )
                    )
                record = line[TYPE_RECORDS[mapping_type][1]]
                if record and record not in records:
                    raise ValidationError(
                        self.env._(
                            "The line %(value)s points to %(record)s, whose Odoo value is "
                            "%(key)s: the Odoo value and the record must agree.",
                            value=line.source_value,
                            record=record.display_name,
                            key=self._record_key(mapping_type, record, partner_key, company),
                        )
                    )
