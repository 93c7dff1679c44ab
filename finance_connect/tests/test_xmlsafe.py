"""Safe XML parsing: entity attacks, size limit, syntax errors, XSD validation."""

from pathlib import Path

from lxml import etree

from odoo.addons.finance_connect.lib import xmlsafe
from odoo.tests import BaseCase, tagged

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
MISSING = f"the shared fixtures folder is missing: {SHARED} (expected beside the clone)"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<foo/>"""


@tagged("post_install", "-at_install")
class TestXmlSafe(BaseCase):
    def test_entity_declarations_are_refused(self):
        for name, data in [
            ("billion-laughs", BILLION_LAUGHS),
            ("external-entity", EXTERNAL_ENTITY),
            ("parameter-entity", PARAMETER_ENTITY),
            (
                "utf-16",
                EXTERNAL_ENTITY.decode()
                .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
                .encode("utf-16"),
            ),
        ]:
            with self.subTest(name):
                with self.assertRaisesRegex(xmlsafe.UnsafeXmlError, "declaring entities"):
                    xmlsafe.parse_xml(data)

    def test_external_entity_content_never_appears(self):
        # Even past the pre-check, the parser keeps entity references unresolved.
        root = etree.fromstring(EXTERNAL_ENTITY, parser=xmlsafe._make_parser())
        assert "root:" not in etree.tostring(root).decode()

    def test_oversize_body_is_refused(self):
        data = b"<a>" + b"x" * 2000 + b"</a>"
        with self.assertRaisesRegex(xmlsafe.UnsafeXmlError, "over the limit of 1000 bytes"):
            xmlsafe.parse_xml(data, max_bytes=1000)
        assert xmlsafe.parse_xml(data, max_bytes=5000).tag == "a"

    def test_malformed_xml_names_the_line(self):
        with self.assertRaisesRegex(xmlsafe.XmlFormatError, "malformed XML at line 3"):
            xmlsafe.parse_xml(b"<a>\n<b>\n</a>")
        with self.assertRaisesRegex(xmlsafe.XmlFormatError, "empty"):
            xmlsafe.parse_xml(b"  ")

    def test_errors_are_value_errors(self):
        assert issubclass(xmlsafe.UnsafeXmlError, ValueError)
        assert issubclass(xmlsafe.XmlFormatError, ValueError)

    def test_doctype_without_entities_is_harmless(self):
        root = xmlsafe.parse_xml(b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>ok</a>')
        assert root.text == "ok"

    def test_strip_namespaces(self):
        root = xmlsafe.parse_xml(b'<d:a xmlns:d="urn:x"><d:b>1</d:b><!-- c --></d:a>')
        xmlsafe.strip_namespaces(root)
        assert root.tag == "a" and root.find("b").text == "1"

    def test_validate_xsd_reports_lines_and_caches_schemas(self):
        xsd = SHARED / "genkgo_camt" / "assets" / "camt.053.001.02.xsd"
        if not xsd.is_file():
            self.fail(MISSING)
        valid = (SHARED / "genkgo_camt" / "test_data" / "camt053.v2.minimal.xml").read_bytes()
        wrong = (SHARED / "genkgo_camt" / "test_data" / "camt053.v2.wrong.xml").read_bytes()
        assert xmlsafe.validate_xsd(xmlsafe.parse_xml(valid), xsd) == []
        errors = xmlsafe.validate_xsd(xmlsafe.parse_xml(wrong), xsd)
        assert len(errors) == 1 and errors[0].startswith("line 3: ")
        assert xmlsafe._load_schema(xsd) is xmlsafe._load_schema(str(xsd))

    def test_hostile_prolog_is_refused_or_malformed_not_hung(self):
        # About a megabyte of repeated DOCTYPE openings: the check is two linear
        # searches, so this answers at once (it took minutes with the old regex).
        for name, prolog in [
            ("doctype-bracket", b"<!DOCTYPE[" * 100_000),
            ("lowercase", b"<!doctype a [" * 80_000),
            ("comment", b"<!DOCTYPE a [ <!-- ] -->" * 40_000),
        ]:
            with self.subTest(name):
                with self.assertRaises(ValueError):
                    xmlsafe.parse_xml(prolog + b"<a/>", max_bytes=2 * 1024 * 1024)

    def test_entity_after_many_doctypes_is_refused(self):
        data = b"<!DOCTYPE[" * 50_000 + b'<!ENTITY x "y">]><a/>'
        with self.assertRaisesRegex(xmlsafe.UnsafeXmlError, "declaring entities"):
            xmlsafe.parse_xml(data, max_bytes=2 * 1024 * 1024)

    def test_declares_entities(self):
        assert xmlsafe.declares_entities('<!doctype a [<!entity b "c">]><a/>')
        assert xmlsafe.declares_entities('<!DOCTYPE a [<!-- ] --> <!ENTITY b "c">]><a/>')
        assert not xmlsafe.declares_entities("<!ENTITY before the doctype><!DOCTYPE a><a/>")
        assert not xmlsafe.declares_entities("<a>no doctype</a>")
