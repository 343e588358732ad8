"""A FixtureWeb that behaves like real sites do: per-request session ids and cookie-banner ids in its pages,
"Page last reviewed: <today>", `;jsessionid=` path parameters accepted, site-wide outages and domain moves.

    web = MessyWeb(host="127.0.0.5").start()
    web.set("/", "<a href='/board/{{SESSION}}'>Board</a>")   # {{SESSION}}: ;jsessionid=<new id> on every request
    web.outage = 503                                          # every path answers 503 (None: back to normal)
    web.move_to = other.url("")                                # every path 301s to the same path there
    web.move_map = {"/old-plan/": "/plans/"}                   # ... or to a mapped path ("/" for a home page)
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit

from fixtureweb import FixtureWeb, Route

_PATH_SESSION = re.compile(r";jsessionid=[^/?#]*", re.I)


class MessyWeb(FixtureWeb):
    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.outage: int | None = None
        self.move_to: str | None = None
        self.move_map: dict[str, str] = {}

    def _route(self, raw_path: str) -> Route | None:
        if self.outage:
            return Route(b"<html><body><h1>Service unavailable</h1></body></html>", status=self.outage)
        path = _PATH_SESSION.sub("", raw_path)
        if self.move_to is not None and path != "/robots.txt":
            bare = urlsplit(path).path
            target = self.move_map.get(bare, self.move_map.get("*", bare))
            return Route(b"", "text/plain", 301, {"Location": self.move_to.rstrip("/") + target})
        route = super()._route(path)
        if route is None or b"{{" not in route.body:
            return route
        body = route.body
        body = body.replace(b"{{SESSION}}", f";jsessionid={secrets.token_hex(16).upper()}".encode())
        body = body.replace(b"{{COOKIE}}", secrets.token_hex(6).encode())
        body = body.replace(b"{{TODAY}}", dt.date.today().strftime("%d %B %Y").encode())
        return Route(body, route.content_type, route.status, dict(route.headers), route.modified,
                     route.delay, route.send_length)
