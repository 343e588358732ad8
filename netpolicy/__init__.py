"""Which network addresses are not plainly public: the one rule alerts (send-time SSRF guard) and the crawler
(redirects) both apply. A leaf package: it imports none of ours, so both may use it without crossing the flow."""

from .addresses import embedded_ipv4, forbidden_reason, is_forbidden, resolve

__all__ = ["embedded_ipv4", "forbidden_reason", "is_forbidden", "resolve"]
