"""A redirect may not take a crawl to a loopback, private, link-local or reserved address the source never named.

An in-scope `/plans/redir.pdf` answering `302 Location: http://localhost:8080/latest/meta-data/` would otherwise be
fetched, archived and shown. Every redirected request (HTTP 3xx and meta refresh) is checked before robots.txt or the
download: its host's addresses must all be public (the rules of `storage.addresses`, the ones alerts apply to their
targets), unless the operator named that host and port for the source (a start URL's host, or a host in
`allowed_domains` or `document_hosts`, on a port a start URL uses), which is how local and intranet sources keep
working. A refused redirect is a recorded fetch error, like any other failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from storage import forbidden_reason

REFUSED = "refused redirect"


def _endpoint(url: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return "", None
    return (parts.hostname or "").lower().rstrip("."), port


def named_endpoints(source: Any) -> tuple[set[str], set[int | None]]:
    """The hosts the operator named for a source, and the ports its start URLs use."""
    starts = [_endpoint(url) for url in getattr(source, "start_urls", [])]
    hosts = {host for host, _ in starts if host}
    for name in (*getattr(source, "allowed_domains", []), *getattr(source, "document_hosts", [])):
        hosts.add(str(name).lower().rstrip("."))
    return hosts, {port for _, port in starts}


async def _addresses(host: str, port: int | None) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class RedirectGuardMiddleware:
    """Downloader middleware (before robots.txt): refuses redirects to non-public addresses the source did not name."""

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectGuardMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if not request.meta.get("redirect_urls"):
            return None
        host, port = _endpoint(request.url)
        source = getattr(spider or self.crawler.spider, "source", None)
        hosts, ports = named_endpoints(source) if source is not None else (set(), set())
        if host in hosts and port in ports:
            return None
        try:
            addresses = await _addresses(host, port)
        except (OSError, UnicodeError):
            return None  # the download fails on its own, as a DNS error
        for address in addresses:
            reason = forbidden_reason(address)
            if reason:
                shown = host if address == host.strip("[]") else f"{host} resolves to {address}"
                raise IgnoreRequest(f"{REFUSED} to {request.url}: {shown} ({reason}), which this source does "
                                    "not name; only the hosts of a source's start URLs, allowed_domains and "
                                    "document_hosts may be private")
        return None
