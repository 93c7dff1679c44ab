"""Where outbound calls may go: internal addresses refused unless allowed."""

from odoo.addons.finance_connect.lib.outbound_guard import (
    check_url,
    forbidden_reason,
    parse_allowed_hosts,
)
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestOutboundGuard(BaseCase):
    def test_allow_list_parsing(self):
        assert parse_allowed_hosts("127.0.0.1:8070, Sandbox.Local [::1]:99\n10.0.0.2") == {
            ("127.0.0.1", 8070),
            ("sandbox.local", None),
            ("::1", 99),
            ("10.0.0.2", None),
        }
        assert parse_allowed_hosts("") == set()
        assert parse_allowed_hosts(None) == set()

    def test_internal_addresses_are_refused(self):
        for address, reason in [
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "address"),  # reserved (private for some Python versions)
        ]:
            with self.subTest(address=address, reason=reason):
                assert reason in forbidden_reason(address)

    def test_public_addresses_are_allowed(self):
        for address in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"]:
            with self.subTest(address=address):
                assert forbidden_reason(address) == ""

    def test_literal_addresses_and_localhost_are_judged_without_dns(self):
        allowed = parse_allowed_hosts("127.0.0.1:8070")
        assert check_url("http://127.0.0.1:8070/events", allowed, resolve_names=False) == ""
        assert "loopback" in check_url("http://127.0.0.1:8069/", allowed, resolve_names=False)
        assert "link-local" in check_url("http://169.254.169.254/latest", resolve_names=False)
        assert "loopback" in check_url("https://LOCALHOST/x", resolve_names=False)
        assert "loopback" in check_url("http://api.localhost/", resolve_names=False)
        assert check_url("https://bank.example/api", resolve_names=False) == ""

    def test_scheme_host_and_credentials(self):
        assert "http and https" in check_url("file:///etc/passwd")
        assert "http and https" in check_url("gopher://bank.example/")
        assert "no host" in check_url("http:///path")
        assert "credentials" in check_url("https://user:pw@bank.example/")
        assert "not a valid URL" in check_url("http://[::1/")

    def test_names_are_resolved_and_every_address_checked(self):
        def resolver(host, port):
            return {
                "bank.example": ["93.184.216.34"],
                "mixed.example": ["8.8.8.8", "10.0.0.1"],
            }.get(host, [])

        assert check_url("https://bank.example/", resolver=resolver) == ""
        assert "private" in check_url("https://mixed.example/", resolver=resolver)
        assert "does not resolve" in check_url("https://nowhere.example/", resolver=resolver)
        allowed = parse_allowed_hosts("mixed.example:443")
        assert check_url("https://mixed.example/", allowed, resolver=resolver) == ""
        assert "private" in check_url("http://mixed.example/", allowed, resolver=resolver)
