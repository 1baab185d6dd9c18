"""Which outbound URLs a tenant may make us call: only globally routable ones (against SSRF).

A tenant-chosen URL is checked twice. ``check_url`` runs when the URL is stored (create and update):
scheme, userinfo, IP literals in every spelling, special-use and single-label names. ``resolve``
runs at every send: it resolves the name once, refuses the whole destination if any answer is not
public, and returns the address that was checked, which the caller connects to (``pinned_request``)
so that a DNS answer that changes between the check and the connect (rebinding) changes nothing.
Loopback is allowed only by an explicit development setting (``FLEXPRICE_WEBHOOKS_ALLOW_LOOPBACK``);
private, link-local, CGNAT and every other special-purpose range never are.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses a connection could go to (getaddrinfo's answers, as text).
Resolver = Callable[[str, int], Sequence[str]]

SCHEMES = {"http": 80, "https": 443}

# IANA special-purpose registries (v4 and v6): none of these is a place a webhook can live. Listed
# explicitly because ``ipaddress.is_global`` differs between Python releases (multicast, 192.0.0/24).
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
        "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    )
)  # fmt: skip
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
        "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
# Names that never reach the public internet (RFC 6761, 6762, 8375 and the cloud-internal zone).
_SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".arpa", ".localdomain", ".invalid", ".test")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class DestinationRefused(ValueError):
    """The URL may not be called; ``reason`` is safe to show the tenant (it echoes nothing remote)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Destination:
    """A checked URL and the one address to connect to."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, translated, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    low = int(address) & 0xFFFFFFFF
    if address in _NAT64 or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(low)
    if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(low)
    return None


def is_loopback(address: IPAddress) -> bool:
    """127/8 and ::1, also spelled as an IPv6 form of 127/8."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            return embedded.is_loopback
    return address.is_loopback


def is_public(address: IPAddress) -> bool:
    """Globally routable: in no special-purpose range, also when wrapped in an IPv6 form."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_v4(address)
        if embedded is not None:
            return is_public(embedded)
        blocked: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = _BLOCKED_V6
    else:
        blocked = _BLOCKED_V4
    if any(address in network for network in blocked):
        return False
    flags = (
        address.is_private, address.is_loopback, address.is_link_local, address.is_multicast,
        address.is_reserved, address.is_unspecified,
    )  # fmt: skip
    return address.is_global and not any(flags)


def _allowed(address: IPAddress, allow_loopback: bool) -> bool:
    return is_public(address) or (allow_loopback and is_loopback(address))


def _ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as inet_aton / WHATWG do: 1–4 parts, each decimal, 0-octal or 0x-hex
    (``2130706433``, ``0x7f.1``, ``0177.0.0.1``); None when it is a name. A name ending in a number
    that is no valid address is refused, as browsers refuse it."""
    parts = host.split(".")
    if not _NUMBER.match(parts[-1]):
        return None
    values: list[int] = []
    for part in parts:
        if not _NUMBER.match(part):
            raise DestinationRefused("malformed IPv4 address")
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                raise DestinationRefused("malformed IPv4 address")
            values.append(int(part, 8))
        else:
            values.append(int(part))
    if len(values) > 4 or any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise DestinationRefused("malformed IPv4 address")
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _literal(host: str) -> IPAddress | None:
    if host.startswith("["):
        if not host.endswith("]"):
            raise DestinationRefused("malformed IPv6 address")
        try:
            return ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise DestinationRefused("malformed IPv6 address") from None
    return _ipv4_number(host)


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise DestinationRefused("malformed URL") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DestinationRefused("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise DestinationRefused("credentials in the URL are not allowed")
    # The netloc, not .hostname: it keeps the brackets that mark an IPv6 literal.
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    host = host.lower()
    if not host.isascii():
        # IDNA first: it maps the full-width dots of "127。0。0。1" to the dots of an address.
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise DestinationRefused("malformed host") from None
    if not host or any(c in host for c in "\\%\x00 ") or any(ord(c) < 0x20 for c in host):
        raise DestinationRefused("malformed host")
    return parts, host, port or SCHEMES[scheme]


def check_url(url: str, *, allow_loopback: bool = False) -> None:
    """Refuse a URL that could reach a non-public destination (``DestinationRefused``). Names are
    not resolved here (answers change); ``resolve`` checks them again at each send."""
    _parts, host, _port = _split(url)
    if host.endswith("."):
        raise DestinationRefused("a host name ending in a dot is not allowed")
    address = _literal(host)
    if address is not None:
        if not _allowed(address, allow_loopback):
            raise DestinationRefused("destination not public")
        return
    if host == "localhost" or host.endswith(_SPECIAL_SUFFIXES):
        if allow_loopback and (host == "localhost" or host.endswith(".localhost")):
            return
        raise DestinationRefused("destination not public")
    if "." not in host:
        raise DestinationRefused("a host name needs a domain (single-label names are internal)")


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``getaddrinfo`` gives for a TCP connection to ``host:port``."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class DestinationPolicy:
    """Where sends may go: public addresses, plus loopback when ``allow_loopback`` (development only)."""

    allow_loopback: bool = False
    resolver: Resolver = field(default=system_resolver)

    def check_url(self, url: str) -> None:
        check_url(url, allow_loopback=self.allow_loopback)

    def resolve(self, url: str) -> Destination:
        """Check ``url``, resolve its host once and return the checked address to connect to.

        Every answer must be allowed, not just the first: a name that also answers with an internal
        address is refused, whichever answer a connection would have picked."""
        check_url(url, allow_loopback=self.allow_loopback)
        parts, host, port = _split(url)
        literal = _literal(host)
        if literal is not None:
            return Destination(parts, host, port, literal)
        try:
            answers = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise DestinationRefused("name not resolved") from None
        if not answers:
            raise DestinationRefused("name not resolved")
        if not all(_allowed(a, self.allow_loopback) for a in answers):
            raise DestinationRefused("destination not public")
        return Destination(parts, host, port, answers[0])


def pinned_request(destination: Destination) -> tuple[str, dict[str, str], dict[str, object]]:
    """URL, headers and httpx extensions that connect to ``destination.address`` while speaking to
    the named host: ``Host`` header and TLS SNI (certificates are verified against the name)."""
    parts = destination.url
    address = destination.address
    literal = f"[{address.compressed}]" if address.version == 6 else address.compressed
    netloc = f"{literal}:{destination.port}"
    url = parts._replace(scheme=parts.scheme.lower(), netloc=netloc, fragment="").geturl()
    default = SCHEMES[parts.scheme.lower()]
    host_header = (
        destination.host if destination.port == default else f"{destination.host}:{destination.port}"
    )
    extensions: dict[str, object] = {}
    if parts.scheme.lower() == "https" and _literal(destination.host) is None:
        extensions["sni_hostname"] = destination.host
    return url, {"host": host_header}, extensions
