"""Mapping tables: exact before rule, longest prefix wins, periods, never a guess."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.addons.finance_connect.lib import mapping
from odoo.tests import BaseCase, tagged

D = date(2026, 6, 30)


def line(
    source,
    target,
    kind="exact",
    direction="outbound",
    date_from=None,
    date_to=None,
    line_id=None,
    mapping_type="account",
):
    return mapping.MappingLine(
        mapping_type,
        source,
        kind,
        direction,
        date_from,
        date_to,
        target,
        line_id if line_id is not None else target,
    )


# ---------------------------------------------------------------------------
# Property: the compiled table answers what a brute-force reading answers.
# ---------------------------------------------------------------------------

codes = st.text(alphabet="0123", min_size=0, max_size=4)
days = st.one_of(st.none(), st.integers(min_value=1, max_value=5))


def brute_force(lines, value, on_date):
    def valid(ln):
        return (ln.date_from is None or ln.date_from <= on_date) and (
            ln.date_to is None or on_date <= ln.date_to
        )

    exact = [ln for ln in lines if ln.source_kind == "exact" and ln.source == value and valid(ln)]
    candidates = [exact] if exact else []
    prefixes = sorted(
        {ln.source for ln in lines if ln.source_kind == "prefix" and value.startswith(ln.source)},
        key=len,
        reverse=True,
    )
    for prefix in prefixes:
        found = [
            ln for ln in lines if ln.source_kind == "prefix" and ln.source == prefix and valid(ln)
        ]
        if found:
            candidates.append(found)
    if not candidates:
        return "unmapped"
    first = candidates[0]
    if len({ln.target for ln in first}) > 1:
        return "ambiguous"
    return first[0].target


@tagged("post_install", "-at_install")
class TestMappingLib(BaseCase):
    def test_exact_beats_prefix_and_longest_prefix_wins(self):
        table = mapping.MappingTable(
            [
                line("6", "OPEX", "prefix", line_id=1),
                line("60", "MATERIAL", "prefix", line_id=2),
                line("600100", "RENT", line_id=3),
                line("", "SUSPENSE", "prefix", line_id=4),
            ]
        )
        assert table.resolve("account", "600100", on_date=D) == ("RENT", 3, "exact")
        assert table.resolve("account", "600200", on_date=D) == ("MATERIAL", 2, "prefix 60*")
        assert table.resolve("account", "610000", on_date=D) == ("OPEX", 1, "prefix 6*")
        assert table.resolve("account", "700000", on_date=D) == ("SUSPENSE", 4, "catch-all *")

    def test_unmapped_names_type_and_value(self):
        table = mapping.MappingTable([line("6", "OPEX", "prefix")])
        with self.assertRaises(mapping.Unmapped) as info:
            table.resolve("account", "700000", on_date=D)
        assert info.exception.mapping_type == "account"
        assert info.exception.value == "700000"
        assert info.exception.reason == "unmapped"
        with self.assertRaises(mapping.Unmapped):
            table.resolve("journal", "600000", on_date=D)  # another type maps nothing
        assert table.get("account", "700000", on_date=D, default="x") == "x"

    def test_prefix_longer_than_value_is_skipped(self):
        table = mapping.MappingTable([line("6000", "A", "prefix"), line("6", "B", "prefix")])
        assert table.resolve("account", "60", on_date=D).target == "B"

    def test_validity_dates_choose_the_line_of_the_day(self):
        table = mapping.MappingTable(
            [
                line("400000", "OLD", date_to=date(2025, 12, 31), line_id=1),
                line("400000", "NEW", date_from=date(2026, 1, 1), line_id=2),
                line("4", "RULE", "prefix", date_from=date(2030, 1, 1), line_id=3),
            ]
        )
        assert table.resolve("account", "400000", on_date=date(2025, 12, 31)).target == "OLD"
        assert table.resolve("account", "400000", on_date=date(2026, 1, 1)).target == "NEW"
        # The exact lines expired or not yet valid: the prefix rule is not valid either.
        with self.assertRaises(mapping.Unmapped):
            table.resolve("account", "410000", on_date=D)
        assert table.resolve("account", "410000", on_date=date(2030, 1, 1)).target == "RULE"

    def test_exact_line_out_of_period_falls_back_to_rule(self):
        table = mapping.MappingTable(
            [
                line("600100", "RENT", date_to=date(2020, 1, 1), line_id=1),
                line("6", "OPEX", "prefix", line_id=2),
            ]
        )
        assert table.resolve("account", "600100", on_date=D) == ("OPEX", 2, "prefix 6*")

    def test_same_length_prefixes_for_same_value_and_period_are_ambiguous(self):
        table = mapping.MappingTable(
            [
                line("6", "OPEX", "prefix", line_id=1),
                line("6", "COGS", "prefix", line_id=2),
            ]
        )
        with self.assertRaises(mapping.Ambiguous) as info:
            table.resolve("account", "600000", on_date=D)
        assert info.exception.line_ids == (1, 2)
        assert info.exception.reason == "ambiguous"
        assert "ambiguous" in str(info.exception)

    def test_duplicate_exact_lines_ambiguous_unless_same_target(self):
        table = mapping.MappingTable(
            [
                line("600000", "A", line_id=5),
                line("600000", "B", line_id=6),
                line("700000", "S", line_id=8),
                line("700000", "S", line_id=7),
            ]
        )
        with self.assertRaises(mapping.Ambiguous):
            table.resolve("account", "600000", on_date=D)
        # Two lines agreeing is no guess: the lowest line decides.
        assert table.resolve("account", "700000", on_date=D) == ("S", 7, "exact")

    def test_non_overlapping_duplicates_are_not_ambiguous(self):
        table = mapping.MappingTable(
            [
                line("6", "A", "prefix", date_to=date(2025, 12, 31), line_id=1),
                line("6", "B", "prefix", date_from=date(2026, 1, 1), line_id=2),
            ]
        )
        assert table.resolve("account", "61", on_date=D).target == "B"

    def test_directions(self):
        table = mapping.MappingTable(
            [
                line("EUR", "978", direction="both", mapping_type="currency"),
                line("USD", "840", direction="outbound", mapping_type="currency"),
                line("CHF", "756", direction="inbound", mapping_type="currency"),
            ]
        )
        assert table.resolve("currency", "EUR", "inbound", D).target == "978"
        assert table.resolve("currency", "EUR", "outbound", D).target == "978"
        assert table.resolve("currency", "USD", "outbound", D).target == "840"
        with self.assertRaises(mapping.Unmapped):
            table.resolve("currency", "USD", "inbound", D)
        with self.assertRaises(mapping.Unmapped):
            table.resolve("currency", "CHF", "outbound", D)
        assert table.has_type("currency", "inbound")
        assert not table.has_type("account", "outbound")

    def test_coverage_splits_values(self):
        table = mapping.MappingTable(
            [
                line("6", "OPEX", "prefix"),
                line("4", "X", "prefix", line_id=1),
                line("4", "Y", "prefix", line_id=2),
            ]
        )
        mapped, unmapped, ambiguous = table.coverage(
            "account", ["600000", "610000", "700000", "400000"], on_date=D
        )
        assert mapped == ["600000", "610000"]
        assert unmapped == ["700000"]
        assert ambiguous == ["400000"]

    def test_bad_lines_are_refused(self):
        with self.assertRaises(ValueError):
            mapping.MappingTable([line("6", "X", kind="regex")])
        with self.assertRaises(ValueError):
            mapping.MappingTable([line("6", "X", direction="sideways")])

    def test_parse_source(self):
        for text, expected in [
            ("600000", ("600000", "exact")),
            (" 6* ", ("6", "prefix")),
            ("*", ("", "prefix")),
            ("", ("", "exact")),
        ]:
            with self.subTest(text=text, expected=expected):
                assert mapping.parse_source(text) == expected
                assert mapping.format_source(*expected) == text.strip()

    def test_parse_source_refuses_inner_wildcards(self):
        for text in ["6*0", "6**", "*6"]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    mapping.parse_source(text)

    def test_find_conflicts(self):
        a = line("600000", "A", line_id=1)
        b = line("600000", "B", line_id=2, date_from=date(2026, 1, 1))
        c = line("600000", "C", line_id=3, direction="inbound")
        d = line("6", "D", "prefix", line_id=4)
        e = line("600000", "E", line_id=5, direction="both", date_to=date(2025, 1, 1))
        f = line("600000", "F", line_id=6, mapping_type="journal")
        conflicts = mapping.find_conflicts([a, b, c, d, e, f])
        ids = sorted(tuple(sorted((x.line_id, y.line_id))) for x, y in conflicts)
        # a/b overlap from 2026; e (both) overlaps a (open) and c (inbound) but not b.
        assert ids == [(1, 2), (1, 5), (3, 5)]

    def test_find_conflicts_separate_periods_and_kinds(self):
        lines = [
            line("6", "A", "prefix", line_id=1, date_to=date(2025, 12, 31)),
            line("6", "B", "prefix", line_id=2, date_from=date(2026, 1, 1)),
            line("6", "C", line_id=3),  # exact "6" is not the rule "6*"
        ]
        assert mapping.find_conflicts(lines) == []

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.tuples(
                codes, st.sampled_from(["exact", "prefix"]), st.sampled_from("ABC"), days, days
            ),
            max_size=12,
        ),
        codes,
        st.integers(min_value=1, max_value=5),
    )
    def test_table_agrees_with_brute_force(self, raw, value, day):
        lines = [
            line(
                src,
                tgt,
                kind,
                date_from=date(2026, 1, f) if f else None,
                date_to=date(2026, 1, t) if t else None,
                line_id=i,
            )
            for i, (src, kind, tgt, f, t) in enumerate(raw)
        ]
        on_date = date(2026, 1, day)
        expected = brute_force(lines, value, on_date)
        try:
            got = mapping.MappingTable(lines).resolve("account", value, on_date=on_date).target
        except mapping.Ambiguous:
            got = "ambiguous"
        except mapping.Unmapped:
            got = "unmapped"
        assert got == expected

    def test_draft_lines_declare_the_type_but_decide_nothing(self):
        table = mapping.MappingTable([line("600000", None), line("6", "OPEX", "prefix")])
        assert table.has_type("account", "outbound")
        assert table.resolve("account", "600000", on_date=D).target == "OPEX"
        drafts_only = mapping.MappingTable([line("600000", None, mapping_type="journal")])
        assert drafts_only.has_type("journal")
        with self.assertRaises(mapping.Unmapped):
            drafts_only.resolve("journal", "600000", on_date=D)

    def test_resolve_any_exact_key_beats_rule_and_conflicts_are_ambiguous(self):
        table = mapping.MappingTable(
            [
                line("vat:NL1", "P1", line_id=1, mapping_type="partner"),
                line("ref:C", "CUSTOMERS", "prefix", line_id=2, mapping_type="partner"),
                line("ref:C9", "OTHER", line_id=3, mapping_type="partner"),
            ]
        )
        assert table.resolve_any("partner", ["vat:NL1", "ref:C1"], on_date=D).target == "P1"
        assert table.resolve_any("partner", [None, "ref:C1"], on_date=D).target == "CUSTOMERS"
        with self.assertRaises(mapping.Ambiguous):
            table.resolve_any("partner", ["vat:NL1", "ref:C9"], on_date=D)
        with self.assertRaises(mapping.Unmapped) as info:
            table.resolve_any("partner", ["vat:BE2", "ref:X"], on_date=D)
        assert info.exception.value == "vat:BE2"
