"""SSRF guard: alert targets that resolve to private, loopback, link-local, multicast or reserved addresses are refused."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

ALLOW_HINT = "set allow_private_targets = true in [alerts] of config.toml or STP_TRACKER_ALLOW_PRIVATE_TARGETS=1"


class RefusedTarget(OSError):
    """A target host resolves to an address alerts may not reach; says which and how to allow it."""


def is_forbidden(address: str) -> bool:
    """True for any address that is not plainly public (loopback, private, link-local, multicast, reserved...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def _refusal(host: str, address: str) -> RefusedTarget:
    shown = host if host == address else f"{host} resolves to {address}, which"
    return RefusedTarget(f"refused: {shown} is a private, loopback, link-local, multicast or reserved address; "
                         f"to allow it, {ALLOW_HINT}")


def check_addresses(host: str, addresses: list[str]) -> None:
    for address in addresses:
        if is_forbidden(address):
            raise _refusal(host, address)


def resolve(host: str, port: int | None) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    host = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = _original_getaddrinfo(host, port or 0, 0, socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check_host(host: str, port: int | None = None, *, allow_private: bool, must_resolve: bool = True) -> None:
    """Refuse `host` if any of its addresses is forbidden; an unresolvable host is refused when `must_resolve`."""
    if allow_private:
        return
    if not host:
        raise RefusedTarget("refused: the target has no host name")
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        if must_resolve:
            raise RefusedTarget(f"cannot resolve host {host}: {exc}") from None
        return
    check_addresses(host, addresses)


def check_url(url: str, *, allow_private: bool, must_resolve: bool = True) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise RefusedTarget(f"refused: bad port in {parts.scheme}://{parts.hostname}") from None
    check_host(parts.hostname or "", port, allow_private=allow_private, must_resolve=must_resolve)


# Every connection made in this thread inside `guarded_connections()` is checked where the name is resolved, so
# redirects, DNS answers that changed since the subscription and libraries we do not drive (apprise) are covered.
# The addresses checked are the ones the connection then uses: no second lookup to race against.
_original_getaddrinfo = socket.getaddrinfo
_state = threading.local()
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
    results = _original_getaddrinfo(host, port, *args, **kwargs)
    if getattr(_state, "depth", 0) > 0:
        name = host.decode() if isinstance(host, bytes) else str(host)
        check_addresses(name, [str(info[4][0]) for info in results])
    return results


@contextmanager
def guarded_connections(allow_private: bool) -> Iterator[None]:
    """Inside this block (in this thread), a connection to a forbidden address fails before it is made."""
    if allow_private:
        yield
        return
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1
