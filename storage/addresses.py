"""Address rules: loopback, private, link-local, multicast, reserved and every IPv6 form that carries one of them."""

from __future__ import annotations

import ipaddress
import socket

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d, still routed by some stacks


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "reserved"
    if not ip.is_global:
        return "not globally reachable"
    return None


def forbidden_reason(address: str) -> str | None:
    """Why `address` (an IP literal, optionally with a %zone) is not plainly public, or None when it is.

    An IPv6 address that embeds an IPv4 one (6to4 2002::/16, NAT64 64:ff9b::/96, Teredo, ::ffff:a.b.c.d) is judged
    by both: `[2002:7f00:1::]` is 127.0.0.1 reached through a 6to4 relay, so it is loopback."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped is not None or any(ip in n for n in _NAT64)):
        inner = ip.ipv4_mapped or ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # a translation: the IPv4 decides
        kind = _kind(inner)
        return f"{kind} (IPv4 {inner} inside {ip})" if kind else None
    kind = _kind(ip)
    if kind:
        return kind
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in embedded_ipv4(ip):
            kind = _kind(inner)
            if kind:
                return f"{kind} (IPv4 {inner} inside {ip})"
    return None


def is_forbidden(address: str) -> bool:
    """True for any address that is not plainly public (loopback, private, link-local, multicast, reserved...)."""
    return forbidden_reason(address) is not None


def resolve(host: str, port: int | None = None, getaddrinfo=socket.getaddrinfo) -> list[str]:  # type: ignore[no-untyped-def]
    """Every address `host` resolves to (an IP literal resolves to itself); OSError if it does not resolve."""
    host = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    infos = getaddrinfo(host, port or 0, 0, socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})
