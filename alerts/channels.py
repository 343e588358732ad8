"""How a message reaches an address: a small registry of channel classes with one shape (email, webhook, apprise)."""

from __future__ import annotations

import json
import logging
import re
import smtplib
import ssl
import time
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar
from urllib.parse import urlsplit

import apprise
import requests

from . import logsafety, netguard, signing
from .render import Message, one_line
from .settings import AlertSettings

log = logging.getLogger("stp_tracker.alerts")
logsafety.contain_third_party_logs()

MAX_ADDRESS_CHARS = 2000
MAX_ERROR_CHARS = 600
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class AddressError(ValueError):
    """An address no channel accepts, or one a channel refuses (e.g. a private webhook target): says why."""


class SendError(Exception):
    """A send that failed, with the reason (the SMTP reply, the HTTP status, apprise's log)."""


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _scrub(text: str, address: str, shown: str) -> str:
    """An error text with the address's secret parts (path, query, credentials) replaced by its redacted form."""
    parts = urlsplit(address)
    for secret in (address, f"{parts.path}?{parts.query}" if parts.query else "", parts.path, parts.query,
                   parts.password or "", parts.username or ""):
        if secret and len(secret) > 1:
            text = text.replace(secret, "…" if secret != address else shown)
    return text


# kind -> class, in definition order: the first that accepts an address handles it (webhook before apprise for
# http(s) URLs).
CHANNELS: dict[str, type[Channel]] = {}


class Channel:
    """A way to send a message to one kind of address: a subclass with a `kind` registers itself in CHANNELS.

    Adding a channel is adding a subclass with `kind` (its name), a one-line docstring (its help, listed by
    `stp-tracker sources kinds`) and the methods below. CHANNELS are tried in definition order."""

    kind: ClassVar[str] = ""
    needs_confirmation: ClassVar[bool] = False  # double opt-in before anything but the confirmation is sent

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            CHANNELS[cls.kind] = cls

    @classmethod
    def help(cls) -> str:
        """The one-line docstring: what users read about this channel."""
        return (cls.__doc__ or "").strip().splitlines()[0]

    def __init__(self, settings: AlertSettings):
        self.settings = settings

    @classmethod
    def accepts(cls, address: str) -> bool:
        """True if this channel handles addresses of this form."""
        raise NotImplementedError

    def normalise(self, address: str) -> str:
        return address.strip()

    def check(self, address: str) -> None:
        """Raise AddressError if this address must not be used (bad form, forbidden target)."""

    def send(self, address: str, message: Message, *, secret: str | None = None) -> None:
        """Send or raise SendError with the reason."""
        raise NotImplementedError

    def redact(self, address: str) -> str:
        """The address as logs and listings show it (no tokens or passwords)."""
        return address


MAIL_POLICY = email_policy.default.clone(max_line_length=998)


class EmailChannel(Channel):
    """Email through the configured SMTP server (multipart text + HTML, one-click unsubscribe headers)."""

    kind = "email"
    needs_confirmation = True

    @classmethod
    def accepts(cls, address: str) -> bool:
        address = address.strip()
        if address.lower().startswith("mailto:") and "://" not in address:
            address = address[7:]
        return "://" not in address and "@" in address

    def normalise(self, address: str) -> str:
        address = address.strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        local, _, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"

    def check(self, address: str) -> None:
        if len(address) > 254 or not _EMAIL.match(address):
            raise AddressError(f"not an email address: {address!r} (expected name@example.org)")

    def send(self, address: str, message: Message, *, secret: str | None = None) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise SendError("no SMTP server configured: set smtp_host (and smtp_from) in [alerts] of "
                            "<home>/config.toml, or STP_TRACKER_SMTP_HOST")
        self.check(address)
        # Headers are not folded at 78 columns (RFC 5322 allows 998): Python folds a long token that has no space,
        # such as List-Unsubscribe's <https://...?token=...>, into RFC 2047 encoded-words, which mail clients do
        # not read as a URL. Non-ASCII text (a Subject) is still encoded as it must be.
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["Subject"] = one_line(message.subject)
        mail["From"] = settings.smtp_from
        mail["To"] = address
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        domain = settings.smtp_from.rpartition("@")[2].strip("> ") or "stp-tracker.invalid"
        # The same message resent after a crash keeps its Message-ID, so mail clients can drop the copy.
        mail["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '.', message.ref)}@{domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        for key, value in message.headers.items():
            mail[key] = one_line(value)
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        where = f"SMTP server {settings.smtp_host}:{settings.port}"
        try:
            if settings.smtp_ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.port, timeout=settings.smtp_timeout,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(settings.smtp_host, settings.port, timeout=settings.smtp_timeout)
            with client:
                if settings.smtp_starttls and not settings.smtp_ssl:
                    client.starttls(context=ssl.create_default_context())
                if settings.smtp_user:
                    client.login(settings.smtp_user, settings.smtp_password or "")
                refused = client.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"{where} refused the login for user {settings.smtp_user}: {exc.smtp_code} "
                            f"{exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                            "; check smtp_user and smtp_password") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(_short(f"{where} refused the recipient {address}: {exc.recipients}")) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SendError(_short(f"{where}: {type(exc).__name__}: {exc}")) from None
        if refused:
            raise SendError(_short(f"{where} refused the recipient {address}: {refused}"))


class WebhookChannel(Channel):
    """An HTTPS POST of the event JSON, signed with HMAC-SHA256 (X-STP-Signature)."""

    # http:// only where private targets are allowed (AlertSettings.allow_private_targets).

    kind = "webhook"

    @classmethod
    def accepts(cls, address: str) -> bool:
        return address.strip().lower().startswith(("http://", "https://"))

    def check(self, address: str) -> None:
        if len(address) > MAX_ADDRESS_CHARS or any(c.isspace() or ord(c) < 32 for c in address):
            raise AddressError("a webhook URL must be one line without spaces, at most 2000 characters")
        parts = urlsplit(address)
        if not parts.hostname:
            raise AddressError(f"webhook URL has no host: {self.redact(address)}")
        try:
            netguard.check_url(address, allow_private=self.settings.allow_private_targets)
        except netguard.RefusedTarget as exc:
            raise AddressError(f"webhook {self.redact(address)}: {exc}") from None
        if parts.scheme.lower() == "http" and not self.settings.allow_private_targets:
            raise AddressError(f"webhook {self.redact(address)}: plain http:// is refused, use https:// "
                               f"(http:// is allowed only where private targets are: {netguard.ALLOW_HINT})")

    def send(self, address: str, message: Message, *, secret: str | None = None) -> None:
        try:
            self.check(address)
        except AddressError as exc:
            raise SendError(str(exc)) from None
        body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            **message.headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "stp-tracker-alerts/1",
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.DELIVERY_HEADER: message.ref,
            signing.EVENT_HEADER: message.kind,
        }
        if secret:
            headers[signing.SIGNATURE_HEADER] = signing.sign(secret, timestamp, body, delivery=message.ref,
                                                             event=message.kind)
        where = self.redact(address)
        session = requests.Session()
        session.trust_env = False  # an environment proxy would resolve the host for us, past the SSRF check
        try:
            with netguard.guarded_connections(self.settings.allow_private_targets):
                response = session.post(address, data=body, headers=headers, allow_redirects=False, stream=True,
                                        timeout=(self.settings.http_timeout, self.settings.http_timeout))
                with response:
                    reply = response.raw.read(2000, decode_content=True) if not response.ok else b""
        except requests.RequestException as exc:
            raise SendError(_short(f"webhook {where}: {type(exc).__name__}: {_scrub(str(exc), address, where)}")) from None
        finally:
            session.close()
        status = response.status_code
        if 300 <= status < 400:
            raise SendError(f"webhook {where} answered HTTP {status} (redirect to "
                            f"{self.redact(response.headers.get('Location', '?'))}): redirects are not followed, "
                            "subscribe the final URL")
        if not 200 <= status < 300:
            raise SendError(_short(f"webhook {where} answered HTTP {status}: {reply.decode('utf-8', 'replace')}"))

    def redact(self, address: str) -> str:
        parts = urlsplit(address)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        path = parts.path if len(parts.path) <= 1 else "/…"  # webhook paths often carry a secret token
        return f"{parts.scheme}://{host}{port}{path}"


_CUSTOM_HTTP = {"json", "jsons", "xml", "xmls", "form", "forms"}  # apprise's plugins that post to any URL
_PLAIN_HTTP = {"json", "xml", "form"}  # their plain-http forms: the same allowance as an http:// webhook
# Schemes whose sends the connection guard cannot follow: refused, whatever the address says.
_UNGUARDED = {
    "xmpp": "sends from threads of its own", "xmpps": "sends from threads of its own",
    "syslog": "writes to this machine's system log", "dbus": "talks to this machine's desktop bus",
    "kde": "talks to this machine's desktop bus", "qt": "talks to this machine's desktop bus",
    "glib": "talks to this machine's desktop bus", "gio": "talks to this machine's desktop bus",
    "gnome": "talks to this machine's desktop bus", "macosx": "runs a program on this machine",
    "windows": "talks to this machine's desktop", "blink1": "talks to a device on this machine",
}


class AppriseChannel(Channel):
    """Any apprise URL (slack://, matrix://, tgram://, discord://, ntfy://, msteams://, json://, ...)."""

    kind = "apprise"

    @staticmethod
    def _plugin(address: str):  # type: ignore[no-untyped-def]
        # Asking apprise whether it knows a URL must not log an error when it does not (the answer is our error).
        logger = logging.getLogger("apprise")
        disabled, logger.disabled = logger.disabled, True
        try:
            return apprise.Apprise.instantiate(address.strip(), suppress_exceptions=True)
        finally:
            logger.disabled = disabled

    @classmethod
    def accepts(cls, address: str) -> bool:
        return "://" in address and len(address) <= MAX_ADDRESS_CHARS and cls._plugin(address) is not None

    def check(self, address: str) -> None:
        plugin = self._plugin(address)
        if plugin is None:
            raise AddressError(f"not an apprise URL apprise can use: {address.split('://', 1)[0]}://… "
                               "(see https://github.com/caronc/apprise/wiki)")
        scheme = address.strip().split("://", 1)[0].lower()
        if scheme in _UNGUARDED:
            raise AddressError(f"{scheme}:// is refused: it {_UNGUARDED[scheme]}, where the connection guard "
                               "cannot check it")
        allow = self.settings.allow_private_targets
        if scheme in _PLAIN_HTTP and not allow:
            raise AddressError(f"{self.redact(address)}: plain {scheme}:// is refused, use {scheme}s:// "
                               f"(plain http is allowed only where private targets are: {netguard.ALLOW_HINT})")
        # A plugin whose URL names a host it connects to (json://, mmost://, mailto://, rsyslog://...) must resolve
        # to public addresses now; cloud services keep a token where the host would be (slack://T1/B2/C3) and
        # connect to their own fixed hosts. Every connection is checked again when it is made (netguard).
        targets = []
        relay = getattr(plugin, "smtp_host", None)
        if relay:  # mailto://...?smtp=HOST&port=P: the relay is where the mail goes, not the mail domain
            targets.append((str(relay), getattr(plugin, "port", None)))
        elif "host" in (getattr(plugin, "template_tokens", None) or {}) and getattr(plugin, "host", None):
            targets.append((str(plugin.host), getattr(plugin, "port", None)))
        for host, port in targets:
            try:
                netguard.check_host(host, port if isinstance(port, int) else None, allow_private=allow,
                                    must_resolve=True)
            except netguard.RefusedTarget as exc:
                raise AddressError(f"{self.redact(address)}: {exc}") from None

    def send(self, address: str, message: Message, *, secret: str | None = None) -> None:
        try:
            self.check(address)
        except AddressError as exc:
            raise SendError(str(exc)) from None
        # The guard is a context variable: apprise copies it into the worker thread that sends.
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
        if not notifier.add(address.strip()):
            raise SendError(f"apprise cannot use {self.redact(address)}")
        with apprise.LogCapture(level=logging.DEBUG) as captured, \
                netguard.guarded_connections(self.settings.allow_private_targets):
            try:
                ok = bool(notifier.notify(body=message.text, title=message.subject,
                                          body_format=apprise.NotifyFormat.TEXT))
            except Exception as exc:  # a plugin bug must be a recorded failure, not a crashed run
                reason = logsafety.scrub_secrets(_scrub(f"{type(exc).__name__}: {exc}", address,
                                                        self.redact(address)))
                raise SendError(_short(f"apprise {self.redact(address)}: {reason}")) from None
        if not ok:
            reason = logsafety.scrub_secrets(_scrub(self._reason(captured.getvalue()), address, self.redact(address)))
            raise SendError(_short(f"apprise {self.redact(address)}: {reason}"))

    @staticmethod
    def _reason(log_text: str) -> str:
        keep = []
        for line in log_text.splitlines():
            _, _, rest = line.partition(" - ")
            level, _, text = rest.partition(" - ")
            # Warnings say what failed; the debug lines that carry an exception or a reply say why. Lines with
            # URLs or payloads (tokens, message text) are left out.
            if level in {"WARNING", "ERROR", "CRITICAL"} or (
                    level == "DEBUG" and re.search(r"Exception|Response|Details|Error", text)
                    and not re.search(r"URL:|Payload", text)):
                keep.append(text.strip())
        return " ".join(keep) or "apprise reported a failure without a reason"

    def redact(self, address: str) -> str:
        plugin = self._plugin(address)
        if plugin is not None:
            try:
                shown = plugin.url(privacy=True).split("?", 1)[0]
            except Exception:  # noqa: BLE001 - a plugin that cannot print itself is shown by scheme only
                shown = ""
            scheme, _, rest = shown.partition("://")
            if scheme.lower() in _CUSTOM_HTTP and "/" in rest.strip("/"):
                # a receiver's own URL (json://host/path): its path may be a token, as for webhooks
                shown = f"{scheme}://{rest.split('/', 1)[0]}/…"
            if shown:
                return shown
        return address.split("://", 1)[0] + "://…"


def channel_class(kind: str) -> type[Channel]:
    try:
        return CHANNELS[kind]
    except KeyError:
        raise KeyError(f"no alert channel called {kind!r}; known: {list(CHANNELS)}") from None


def channel_for(address: str, settings: AlertSettings | None = None) -> Channel:
    """The channel for this address, or AddressError naming the forms that are understood."""
    settings = settings or AlertSettings()
    if not address or not address.strip():
        raise AddressError("empty address: give an email address, a webhook URL (https://...) or an apprise URL")
    for cls in CHANNELS.values():
        if cls.accepts(address):
            return cls(settings)
    raise AddressError(
        f"not an address alerts can use: {one_line(address, 80)!r}; give an email address (name@example.org), "
        "a webhook URL (https://...) or an apprise URL (slack://, matrix://, tgram://, discord://, ntfy://, ...)"
    )
