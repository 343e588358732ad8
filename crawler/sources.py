"""Sources: what to crawl (a site, a single page, ...), read from TOML files and checked field by field."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit


class SourceError(ValueError):
    """A source definition is wrong: names the file, the source and the field, and says how to fix it."""


class SourceKind:
    """Base of the source kinds: a subclass with a `kind` registers itself in KINDS; its docstring is its help.

    Adding a kind is adding a subclass here (the name `kind = ...` in sources.toml, its default link depth, the
    `options` keys it needs or accepts; no Scrapy, so checking a sources file stays cheap) and a spider class
    with the same `kind` in crawler/spiders/ (tests check each kind has one)."""

    kind: ClassVar[str] = ""
    default_max_depth: ClassVar[int] = 0
    required_options: ClassVar[tuple[str, ...]] = ()
    allowed_options: ClassVar[tuple[str, ...] | None] = None  # None: any option key is accepted

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            KINDS[cls.kind] = cls

    @classmethod
    def help(cls) -> str:
        """The one-line docstring: what users read about this kind."""
        return (cls.__doc__ or "").strip().splitlines()[0]


# The kinds a source may have, by name, in definition order.
KINDS: dict[str, type[SourceKind]] = {}


class SiteKind(SourceKind):
    """a web site: follows links within its domains, fetches the documents linked"""

    kind = "site"
    default_max_depth = 3


class PageKind(SourceKind):
    """one page (or one document) watched on its own: no links followed"""

    kind = "page"


# Council committee systems (crawler/spiders/moderngov.py, cmis.py). Their options: what the built-in registry
# records about the council(s), and what steers the crawl (checked by crawler.spiders.moderngov.committee_options).
REGISTRY_OPTIONS = ("footprints", "councils", "council_names", "platform", "base_url", "abolished", "title", "note")
COMMITTEE_OPTIONS = ("max_pages", "lookback_months", "lookahead_days", "committees", "all_committees", "keywords", "rss",
                     "max_meetings")


class _CommitteeKind(SourceKind):
    """A council committee system (no kind of its own: the shape ModernGov and CMIS share)."""

    default_max_depth = 2
    allowed_options = REGISTRY_OPTIONS + COMMITTEE_OPTIONS


class ModernGovKind(_CommitteeKind):
    """a council's ModernGov committee site: focus committees' recent meetings, documents of NHS plan items"""

    kind = "moderngov"


class CmisKind(_CommitteeKind):
    """a council's CMIS committee site: focus committees' recent meetings, documents of NHS plan items"""

    kind = "cmis"


FIELDS = (
    "name", "footprint", "kind", "official", "start_urls", "allowed_domains", "max_depth", "schedule",
    "css_selector", "document_hosts", "options",
)
MAX_DEPTH_LIMIT = 20


@dataclass
class Source:
    """One place to crawl; `name` is unique and is how the archive, the CLI and alerts refer to it."""

    name: str
    footprint: str | None = None  # an ODS code such as "QF7", or a name resolved later by the registry
    kind: str = "site"
    official: bool = False
    start_urls: list[str] = field(default_factory=list)
    allowed_domains: list[str] = field(default_factory=list)  # default: the hosts of start_urls
    max_depth: int | None = None  # default: the kind's (3 for a site, 0 for a page)
    schedule: str | None = None  # "6h", "15m", "30s" or a cron expression; read by the daemon
    css_selector: str | None = None
    document_hosts: list[str] = field(default_factory=list)  # other hosts whose linked documents may be fetched
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific keys

    def __post_init__(self) -> None:
        if not self.allowed_domains:
            self.allowed_domains = _unique(host_of(url) for url in self.start_urls)
        if self.max_depth is None:
            spec = KINDS.get(self.kind)
            self.max_depth = spec.default_max_depth if spec else 0

    def config(self) -> dict[str, Any]:
        """Everything that defines the source, as plain JSON-able values (stored with the source in the archive)."""
        return asdict(self)

    def in_scope(self, url: str) -> bool:
        """True if `url` is on one of the source's allowed domains (or a subdomain of one)."""
        return host_matches(host_of(url), self.allowed_domains)

    def on_document_host(self, url: str) -> bool:
        return host_matches(host_of(url), self.document_hosts)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def host_matches(host: str, domains: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return bool(host) and any(host == d or host.endswith("." + d) for d in (x.lower().rstrip(".") for x in domains))


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


class _Checker:
    """Checks one source table and raises SourceError naming where the problem is."""

    def __init__(self, origin: str, index: int, raw: Mapping[str, Any]):
        self.origin = origin
        self.raw = raw
        name = raw.get("name")
        self.label = f"source {name!r}" if isinstance(name, str) and name.strip() else f"source #{index + 1}"

    def fail(self, field_name: str, problem: str) -> SourceError:
        return SourceError(f"{self.origin}: {self.label}: {field_name}: {problem}")

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing; add e.g. " + ('name = "my-source"' if key == "name" else f"{key} = ..."))
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        if any(ord(c) < 32 for c in value):
            raise self.fail(key, "must not contain control characters")
        return value.strip()

    def strings(self, key: str) -> list[str]:
        value = self.raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of non-empty strings, not {value!r}")
        return [v.strip() for v in value]

    def url(self, key: str, url: str) -> str:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise self.fail(key, f"{url!r} is not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise self.fail(key, f"{url!r} must start with http:// or https:// (scheme {parts.scheme or 'missing'!r})")
        if not parts.hostname:
            raise self.fail(key, f"{url!r} has no host name")
        return url

    def hosts(self, key: str) -> list[str]:
        hosts = []
        for host in self.strings(key):
            if "/" in host or ":" in host or " " in host:
                raise self.fail(key, f"{host!r} must be a bare host name such as 'example.org', not a URL")
            hosts.append(host.lower().rstrip("."))
        return hosts


def source_from_dict(raw: Mapping[str, Any], *, origin: str = "<sources>", index: int = 0) -> Source:
    """One Source from a mapping (a TOML table), checked; raises SourceError."""
    if not isinstance(raw, Mapping):
        raise SourceError(f"{origin}: source #{index + 1}: must be a table of fields, not {raw!r}")
    check = _Checker(origin, index, raw)
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise check.fail(unknown[0], f"unknown field; known fields are {', '.join(FIELDS)} "
                                     "(put kind-specific keys under `options`)")
    name = check.string("name", required=True)
    kind = check.string("kind") or "site"
    spec = KINDS.get(kind)
    if spec is None:
        raise check.fail("kind", f"unknown kind {kind!r}; known kinds are {', '.join(sorted(KINDS))}")
    official = raw.get("official", False)
    if not isinstance(official, bool):
        raise check.fail("official", f"must be true or false, not {official!r}")
    start_urls = [check.url("start_urls", url) for url in check.strings("start_urls")]
    if not start_urls:
        raise check.fail("start_urls", 'missing or empty; add e.g. start_urls = ["https://example.org/plans/"]')
    max_depth = raw.get("max_depth", spec.default_max_depth)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        raise check.fail("max_depth", f"must be a whole number from 0 to {MAX_DEPTH_LIMIT}, not {max_depth!r}")
    options = raw.get("options", {})
    if not isinstance(options, Mapping):
        raise check.fail("options", f"must be a table, not {options!r}")
    for key in spec.required_options:
        if key not in options:
            raise check.fail(f"options.{key}", f"missing; a {kind!r} source needs it")
    if spec.allowed_options is not None:
        extra = sorted(set(options) - set(spec.allowed_options) - set(spec.required_options))
        if extra:
            raise check.fail(f"options.{extra[0]}", f"not an option of a {kind!r} source")
    return Source(
        name=name,
        footprint=_footprint_code(check.string("footprint")),
        kind=kind,
        official=official,
        start_urls=start_urls,
        allowed_domains=check.hosts("allowed_domains"),
        max_depth=max_depth,
        schedule=check.string("schedule"),
        css_selector=check.string("css_selector"),
        document_hosts=check.hosts("document_hosts"),
        options=dict(options),
    )


def sources_from_dicts(items: Iterable[Mapping[str, Any]], *, origin: str = "<sources>") -> list[Source]:
    """Sources from mappings (as in a TOML `[[source]]` array); names must be unique. Raises SourceError."""
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        source = source_from_dict(raw, origin=origin, index=index)
        if source.name in seen:
            raise SourceError(f"{origin}: source {source.name!r}: name: duplicate; every source needs its own name")
        seen.add(source.name)
        sources.append(source)
    return sources


def load_sources(path: str | Path) -> list[Source]:
    """Sources from a TOML file of `[[source]]` tables. Raises SourceError naming the file, source and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"{path}: no such sources file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read the sources file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"source"})
    if unknown:
        raise SourceError(f"{path}: unknown top-level key {unknown[0]!r}; sources are [[source]] tables")
    items = data.get("source", [])
    if not isinstance(items, list):
        raise SourceError(f"{path}: `source` must be an array of tables: write [[source]], not [source]")
    return sources_from_dicts(items, origin=str(path))


def _footprint_code(text: str | None) -> str | None:
    """A source's footprint as the registry's code when it names one ("South Yorkshire and Bassetlaw" -> QF7);
    a code the registry does not know is kept as written (an operator's own area)."""
    if not text:
        return text
    from .registry import find_footprint

    found = find_footprint(text)
    return found.code if found is not None else text
