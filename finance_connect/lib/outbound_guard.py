"""Where outbound calls may go (pure Python, no ORM).

An outbound URL (a connection's base URL, OAuth2 token URL, pull path) must
not reach this machine or the networks behind it: loopback, private ranges,
link-local addresses (the cloud metadata service, 169.254.169.254), carrier-grade
NAT, multicast, reserved and unspecified addresses are refused, after DNS
resolution, unless an administrator allows the host explicitly.

Allowed hosts are ``host`` (any port) or ``host:port`` entries, e.g.
``127.0.0.1:8070`` for the demo sandbox.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_allowed_hosts(text):
    """``{(host, port or None), ...}`` of a comma- or whitespace-separated list."""
    allowed = set()
    for entry in (text or "").replace(",", " ").split():
        entry = entry.strip().lower()
        host, port = entry, None
        if entry.startswith("["):  # [::1]:8070
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        allowed.add((host, int(port) if port and port.isdigit() else None))
    return allowed


def is_loopback_url(url):
    """Whether ``url`` names this machine by a loopback name or address (where
    the demo's sandbox counterparty runs)."""
    try:
        return urlsplit(url).hostname in LOOPBACK_HOSTS
    except ValueError:
        return False


def host_entry(url):
    """The ``host:port`` allow-list entry of ``url`` (IPv6 hosts in brackets)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)}"


def is_allowed(host, port, allowed):
    """Whether ``host`` (lower case) and ``port`` are on the allow-list."""
    return (host, None) in allowed or (host, port) in allowed


def forbidden_reason(address):
    """Why an IP address may not be called, or "" when it may."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (such as the cloud metadata service)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a carrier-grade NAT address"
    if ip.is_private:
        return "a private network address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return ""


def resolve(host, port):
    """The IP addresses ``host`` resolves to (empty when it does not)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({info[4][0].split("%")[0] for info in infos})


def check_url(url, allowed=frozenset(), resolve_names=True, resolver=resolve):
    """Why ``url`` may not be called, or "" when it may.

    ``allowed`` is the administrator's allow-list (see :func:`parse_allowed_hosts`).
    With ``resolve_names`` false (a save, which must not wait for DNS) only literal
    addresses and ``localhost`` are judged; at request time names are resolved
    and every address they resolve to is checked.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return "it is not a valid URL"
    if scheme not in SCHEMES:
        return "only http and https URLs are allowed"
    if not host:
        return "it names no host"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed"
    if is_allowed(host, port, allowed):
        return ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            return f"{host} is a loopback address"
        if not resolve_names:
            return ""
        addresses = resolver(host, port)
        if not addresses:
            return f"{host} does not resolve"
    for address in addresses:
        reason = forbidden_reason(address)
        if reason:
            return f"{host} is {reason} ({address})" if address != host else f"{host} is {reason}"
    return ""
