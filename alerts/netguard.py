"""SSRF guard: alert targets that resolve to private, loopback, link-local, multicast or reserved addresses are refused.

Two checks. At subscribe (and before each send) the target's host, and for mail its SMTP relay, must resolve to
public addresses only (`check_host`, `check_url`). At send time, `guarded_connections()` checks every socket the
delivery opens, in whatever thread or library opens it: the guard is a context variable, which apprise copies into
its worker threads (`apprise.submit_with_context`) and asyncio into its executors, and the checks sit on
`socket.getaddrinfo` and on `socket.socket.connect`/`connect_ex`/`sendto`, where the address actually used is known
(so a DNS answer that changed since the check, a redirect or a `?smtp=` relay are caught). Inside the guard, requests
never follows a redirect (the 3xx is the answer, a failure to be recorded), whatever the caller asked for.
"""

from __future__ import annotations

import contextvars
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from storage import forbidden_reason
from storage import is_forbidden as _is_forbidden
from storage import resolve_addresses as _resolve

ALLOW_HINT = "set allow_private_targets = true in [alerts] of config.toml or STP_TRACKER_ALLOW_PRIVATE_TARGETS=1"


class RefusedTarget(OSError):
    """A target host resolves to an address alerts may not reach; says which and how to allow it."""


def is_forbidden(address: str) -> bool:
    """True for any address that is not plainly public (loopback, private, link-local, multicast, reserved...)."""
    return _is_forbidden(address)


def _refusal(host: str, address: str) -> RefusedTarget:
    shown = host if host == address else f"{host} resolves to {address}, which"
    reason = forbidden_reason(address) or "forbidden"
    return RefusedTarget(f"refused: {shown} is a private, loopback, link-local, multicast or reserved address "
                         f"({reason}); to allow it, {ALLOW_HINT}")


def check_addresses(host: str, addresses: list[str]) -> None:
    for address in addresses:
        if is_forbidden(address):
            raise _refusal(host, address)


def resolve(host: str, port: int | None) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    return _resolve(host, port, getaddrinfo=_original_getaddrinfo)


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
            raise RefusedTarget(f"refused: cannot resolve host {host} ({exc.__class__.__name__}: {exc}); "
                                "a target must resolve when it is subscribed") from None
        return
    check_addresses(host, addresses)


def check_url(url: str, *, allow_private: bool, must_resolve: bool = True) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise RefusedTarget(f"refused: bad port in {parts.scheme}://{parts.hostname}") from None
    check_host(parts.hostname or "", port, allow_private=allow_private, must_resolve=must_resolve)


# -- the send-time guard ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Guard:
    allow_private: bool


_active: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar("stp_alerts_guard", default=None)
_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_sendto = socket.socket.sendto
_install_lock = threading.Lock()
_installed = False


def _check_endpoint(sock: socket.socket, address: object) -> None:
    guard = _active.get()
    if guard is None or guard.allow_private:
        return
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        # A Unix socket (syslog's /dev/log, a D-Bus bus) is a local service: never a place to send alerts.
        raise RefusedTarget(f"refused: a connection to a local socket ({address!r}); to allow it, {ALLOW_HINT}")
    if not isinstance(address, tuple) or not address:
        raise RefusedTarget(f"refused: cannot check the connection address {address!r}")
    host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
    # A name (sendto and connect resolve it themselves, out of our sight): resolve here and check every answer.
    check_addresses(host, resolve(host, port))


def _guarded_getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
    results = _original_getaddrinfo(host, port, *args, **kwargs)
    guard = _active.get()
    if guard is not None and not guard.allow_private:
        name = host.decode() if isinstance(host, bytes) else str(host)
        check_addresses(name, [str(info[4][0]) for info in results])
    return results


def _guarded_connect(self, address):  # type: ignore[no-untyped-def]
    _check_endpoint(self, address)
    return _original_connect(self, address)


def _guarded_connect_ex(self, address):  # type: ignore[no-untyped-def]
    _check_endpoint(self, address)
    return _original_connect_ex(self, address)


def _guarded_sendto(self, data, *args):  # type: ignore[no-untyped-def]
    if args:
        _check_endpoint(self, args[-1])
    return _original_sendto(self, data, *args)


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        # Outside a guard each of these is the original call plus one context-variable read.
        socket.getaddrinfo = _guarded_getaddrinfo
        socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign]
        try:
            import requests.sessions

            original = requests.sessions.SessionRedirectMixin.get_redirect_target

            def get_redirect_target(self, response):  # type: ignore[no-untyped-def]
                if _active.get() is not None:
                    return None  # inside a delivery no redirect is followed: the 3xx is the answer
                return original(self, response)

            requests.sessions.SessionRedirectMixin.get_redirect_target = get_redirect_target  # type: ignore[method-assign]
        except ImportError:  # pragma: no cover - requests is a dependency of apprise
            pass
        _installed = True


@contextmanager
def guarded_connections(allow_private: bool) -> Iterator[None]:
    """Inside this block, and in every thread it hands work to with its context (apprise's workers, asyncio's
    executors), a connection to a forbidden address fails before it is made and no HTTP redirect is followed.
    With `allow_private` the addresses are not checked, but redirects are still not followed."""
    _install()
    token = _active.set(_Guard(allow_private=allow_private))
    try:
        yield
    finally:
        _active.reset(token)


def guard_active() -> bool:
    """True inside `guarded_connections()` (in this thread or a worker that carries its context)."""
    return _active.get() is not None
