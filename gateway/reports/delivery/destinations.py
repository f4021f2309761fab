"""Which webhook URLs the gateway may call, checked when a URL is saved and again, resolved, when it is sent to.

Tenants choose webhook URLs, and the gateway runs inside someone's network: without these rules a URL could make
it call the metadata service, a database's HTTP port or an admin page on localhost. So:

- When saved (`validate_webhook_url`): http or https, a host, no `user:password@`, a real port, at most 2048
  characters; a host given as an IP address is judged at once (below). Hosts are not resolved then: DNS can
  change before the first send, so it is the send-time check that counts.
- When sent (`resolve_destination`, run by `PinnedTransport` for every request): the host is resolved, and
  every address it resolves to must be public. Loopback, private (RFC 1918, fc00::/7), link-local
  (169.254/16 with the metadata address 169.254.169.254, fe80::/10), unspecified, multicast, reserved,
  shared (CGNAT 100.64/10), documentation and benchmarking ranges are refused — also when dressed up as
  IPv4-mapped, NAT64 or 6to4 IPv6 addresses, or as numeric hosts like `2130706433`. An operator admits
  internal receivers with CALLPULSE_WEBHOOK_ALLOW_NETWORKS (CIDRs).
- The connection goes to the address that was checked: the request is sent to that IP, with the original
  `Host` header and TLS server name (so certificates are verified for the host name), and no second DNS lookup
  happens between check and connect — a name that answers a public address to the check and 127.0.0.1 to the
  connect (DNS rebinding) gets nowhere. Connections are not kept alive, so no connection verified for one
  host name is reused for another that resolves to the same address. Proxies from the environment are not
  used (a proxy would resolve the name itself).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from gateway.errors import BadUserInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

MAX_URL_CHARS: Final = 2048
SCHEMES: Final = frozenset({"http", "https"})
_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
METADATA_ADDRESSES: Final = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), kind) for cidr, kind in pairs)


# Checked in order, so the first match names the kind in the refusal; anything else not globally routable is
# refused as well (the `is_global` backstop), so a range missing here is still covered.
SPECIAL_NETWORKS: Final = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("169.254.0.0/16", "link-local"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("198.18.0.0/15", "benchmarking"),
    ("192.88.99.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved"),
    ("100::/64", "reserved"),
    ("2001::/32", "reserved"),
    ("2001:10::/28", "reserved"),
    ("2001:db8::/32", "documentation"),
    ("64:ff9b:1::/48", "private"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(BadUserInput):
    """The URL is not one the gateway calls; `reason` is a stable word (scheme, credentials, host, address…)."""

    def __init__(self, message: str, *, reason: str, **extensions: object) -> None:
        super().__init__(message, reason=reason, **extensions)
        self.reason = reason


class DestinationUnresolvable(Exception):
    """The host did not resolve (now): worth another attempt later."""


@dataclass(frozen=True)
class AddressPolicy:
    """What the operator admits besides public addresses (CALLPULSE_WEBHOOK_ALLOW_NETWORKS)."""

    allow: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be called (its kind, e.g. "loopback"), or None when it may."""
        embedded = embedded_ipv4(address)
        candidates = (address,) if embedded is None else (address, embedded)
        if any(candidate in network for candidate in candidates for network in self.allow
               if candidate.version == network.version):
            return None
        return special_kind(address if embedded is None else embedded)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def special_kind(address: IPAddress) -> str | None:
    """The kind of a non-public address ("loopback", "private", "link-local", …), None for a public one."""
    if address in METADATA_ADDRESSES:
        return "link-local (cloud metadata)"
    for network, kind in SPECIAL_NETWORKS:
        if address.version == network.version and address in network:
            return kind
    return None if address.is_global else "not globally routable"


def _check_host(host: str) -> IPAddress | None:
    """The IP address a URL's host is, None for a host name; refuses anything that is neither."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise DestinationRefused(f"{host[:100]!r} is not a valid host name", reason="host")
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # 2130706433, 127.1, 0x7f.1: resolvers read these as IPv4 addresses; we accept only the dotted quad.
        raise DestinationRefused(f"{host[:100]!r} is a numeric host form; write the address as a.b.c.d",
                                 reason="host")
    return None


def validate_webhook_url(url: str, policy: AddressPolicy | None = None) -> httpx.URL:
    """The URL, parsed, if the gateway may send to it; raises DestinationRefused (BAD_USER_INPUT) otherwise.

    The save-time check: syntax, scheme, no credentials; an IP-address host is also judged against `policy`
    (pass it to refuse http://10.0.0.5/ when it is saved, not first when it is sent). Host names are judged
    when sent, by `resolve_destination`.
    """
    if not isinstance(url, str) or not url.strip():
        raise DestinationRefused("a webhook URL is required", reason="syntax")
    if len(url) > MAX_URL_CHARS:
        raise DestinationRefused(f"a webhook URL is at most {MAX_URL_CHARS} characters", reason="syntax")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        raise DestinationRefused("a webhook URL may not contain spaces or control characters", reason="syntax")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        raise DestinationRefused("the webhook URL is not a valid URL", reason="syntax") from None
    if parsed.scheme not in SCHEMES:
        raise DestinationRefused(f"a webhook URL must be http or https, not {parsed.scheme[:20]!r}", reason="scheme")
    if parsed.userinfo:
        raise DestinationRefused("a webhook URL may not carry credentials (user:password@)", reason="credentials")
    if not parsed.host:
        raise DestinationRefused("the webhook URL has no host", reason="host")
    if parsed.port == 0:
        raise DestinationRefused("the webhook URL's port must be 1-65535", reason="port")
    literal = _check_host(ascii_host(parsed))
    if literal is not None and policy is not None:
        _judge(policy, parsed.host, literal)
    return parsed


def ascii_host(url: httpx.URL) -> str:
    """The host as DNS knows it: internationalised names in their IDNA (xn--) form."""
    return url.raw_host.decode("ascii")


def _judge(policy: AddressPolicy, host: str, address: IPAddress) -> None:
    kind = policy.refusal(address)
    if kind is None:
        return
    shown = host if host == str(address) else f"{host} resolves to {address}, which"
    raise DestinationRefused(
        f"{shown} is a {kind} address; webhooks go to public addresses only "
        "(an operator can admit internal networks with CALLPULSE_WEBHOOK_ALLOW_NETWORKS)",
        reason="address", kind=kind)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host`, resolved on the loop's executor (never blocking it)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise DestinationUnresolvable(f"{host} did not resolve: {e.strerror or e}") from None
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class VettedDestination:
    """A URL whose host resolved to `addresses`, every one of them admitted; connect to these, and only these."""

    url: httpx.URL
    addresses: tuple[IPAddress, ...]


async def resolve_destination(url: str | httpx.URL, policy: AddressPolicy,
                              resolver: Resolver = system_resolver) -> VettedDestination:
    """The send-time check: resolves the host and refuses it if ANY of its addresses is not admitted."""
    parsed = validate_webhook_url(str(url))
    host = ascii_host(parsed)
    literal = _check_host(host)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if literal is not None:
        found: Sequence[str] = [str(literal)]
    else:
        found = await resolver(host, port)
    addresses: list[IPAddress] = []
    for text in found:
        # A scope (fe80::1%eth0) is not part of the address's kind.
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationUnresolvable(f"{parsed.host} resolved to no address")
    for address in addresses:
        _judge(policy, parsed.host, address)
    return VettedDestination(url=parsed, addresses=tuple(addresses))


# Response extension naming the vetted address a request went to (for the attempt's record).
ADDRESS_EXTENSION: Final = "callpulse_address"


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends each request to a vetted address of its host, never to one found by a later lookup.

    Every request through it is checked by `resolve_destination` first (a client built on it cannot reach a
    refused address however it is used). The request then goes to the IP itself, keeping the original `Host`
    header and, for https, the host name as TLS server name, against which the certificate is verified.
    """

    def __init__(self, policy: AddressPolicy, *, resolver: Resolver = system_resolver,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.policy = policy
        self.resolver = resolver
        # No keep-alive: a pooled connection is keyed by address, and one verified for host A must not carry
        # a request for host B on the same address. No retries, no proxies from the environment.
        self._inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, retries=0,
                                               limits=httpx.Limits(max_keepalive_connections=0))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        vetted = await resolve_destination(request.url, self.policy, self.resolver)
        host = ascii_host(request.url)
        last: httpx.ConnectError | None = None
        for address in vetted.addresses:
            extensions = dict(request.extensions)
            if request.url.scheme == "https" and host != str(address):
                extensions["sni_hostname"] = host
            pinned = httpx.Request(request.method, request.url.copy_with(host=str(address)),
                                   headers=request.headers, stream=request.stream, extensions=extensions)
            try:
                response = await self._inner.handle_async_request(pinned)
            except httpx.ConnectError as e:
                # Nothing was sent: the next vetted address (IPv6 and IPv4 of one host) may answer.
                last = e
                continue
            response.extensions = {**response.extensions, ADDRESS_EXTENSION: str(address)}
            return response
        assert last is not None
        raise last

    async def aclose(self) -> None:
        await self._inner.aclose()
