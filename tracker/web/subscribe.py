"""The subscribe form and the confirm/unsubscribe links from alert emails."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from storage import ALERT_KINDS
from tracker.web.params import _generations
from tracker.web.security import _EMAIL, Csrf, client_address


ALREADY_SENT = "this form was already sent once: reload the page to send it again"

log = logging.getLogger("stp_tracker.web")


class SubscribeMixin:
    """The WebApp's subscribe handlers (see `tracker.web.app.WebApp`)."""

    def _form(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        nonce, token = self.csrf.issue(request)
        response = self.render(template, status=status, csrf=token, **context)
        response.set_cookie(Csrf.COOKIE, nonce, max_age=Csrf.MAX_AGE, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    def _refuse(self, request: Request, form: Any, csrf: bool = True) -> Response | None:
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        client = client_address(request, self.trusted_proxies)
        if not self.limiter.allow(client):
            return self.render("message.html", status=429, headers={"Retry-After": str(int(self.limiter.window))},
                               title="Too many requests", message="Too many requests from your address: "
                               "wait ten minutes and try again.")
        if not csrf:
            return None
        why = self.csrf.check(request, form.get("csrf"))
        if why:
            return self.render("message.html", status=403, title="Refused", message=why)
        return None

    async def subscribe(self, request: Request) -> Response:
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        if request.method == "GET":
            return self._form(request, "subscribe.html", generations=_generations(), kinds=ALERT_KINDS)
        form = await request.form(max_files=0, max_fields=20)
        refused = self._refuse(request, form)
        if refused is not None:
            return refused
        address = str(form.get("email") or "").strip()
        if not _EMAIL.match(address) or len(address) > 254:
            return self._form(request, "subscribe.html", status=400, error="Enter an email address like "
                              "name@example.org.", generations=_generations(), kinds=ALERT_KINDS)
        # However many clients ask, one address gets at most a few confirmation emails a day.
        if not self.address_limiter.allow(address.casefold()):
            return self.render("message.html", status=429,
                               headers={"Retry-After": str(int(self.address_limiter.window))},
                               title="Too many requests", message="This address has been sent enough confirmation "
                               "messages for today: use the link in one of them, or try again tomorrow.")
        from starlette.concurrency import run_in_threadpool

        token = str(form.get("csrf"))
        if not self.csrf.consume(token):  # checked above; each token subscribes once
            return self.render("message.html", status=403, title="Refused", message=ALREADY_SENT)
        result = await run_in_threadpool(self._do_subscribe, address, form)
        if isinstance(result, str):
            self.csrf.release(token)  # refused input did nothing: the same form may be corrected and sent
            return self._form(request, "subscribe.html", status=400, error=result, generations=_generations(),
                              kinds=ALERT_KINDS)
        return self.render("message.html", title="Check your email", message=(
            "If the address is right, a message is on its way: follow its link to confirm. Nothing else is "
            "sent until you do."))

    def _do_subscribe(self, address: str, form: Any) -> Any:
        from alerts import AddressError, subscribe
        from tracker import ConfigError, alert_settings

        def values(name: str) -> list[str]:
            return [v for v in (str(x).strip() for x in form.getlist(name)) if v][:20]

        keywords = [k.strip() for k in str(form.get("keywords") or "").split(",") if k.strip()][:20]
        from crawler.registry import (
            UnknownFootprint,
            current_footprints,
            resolve_footprint,
        )

        codes: list[str] = []
        for value in values("footprint"):  # a code or any name; a merged ICB's old code follows its successor
            try:
                code = resolve_footprint(value[:200]).code
            except UnknownFootprint as exc:
                return str(exc)
            codes.extend((code, *current_footprints(code)))
        try:
            settings = alert_settings(self.home)
        except ConfigError as exc:  # the operator's to fix (`stp-tracker run` refuses it too); not shown to visitors
            log.error("subscribe form: %s", exc)
            return "Subscriptions cannot be taken just now: the server's alert settings need fixing."
        with self.archive(readonly=False) as archive:
            try:
                return subscribe(archive, settings, address, footprints=list(dict.fromkeys(codes)),
                                 kinds=values("kind"), generations=values("generation"), keywords=keywords,
                                 digest=str(form.get("digest") or "") or None)
            except (AddressError, ValueError) as exc:
                return str(exc)

    async def token_action(self, request: Request) -> Response:
        """/alerts/confirm/<token> and /alerts/unsubscribe/<token>: GET shows a button, only POST acts (mail
        scanners follow links; they must not confirm or cancel anything)."""
        action = request.path_params["action"]
        token = request.path_params["token"][:200]
        if action not in ("confirm", "unsubscribe"):
            raise HTTPException(404, f"no page /alerts/{action[:40]}")
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        if request.method == "GET":
            return self._form(request, "token_action.html", action=action, token=token)
        form = await request.form(max_files=0, max_fields=5)
        # RFC 8058 one-click unsubscribe: the mail provider POSTs "List-Unsubscribe=One-Click" to the link from the
        # List-Unsubscribe header, with no cookie and no form token; the secret token in the URL is the proof.
        one_click = action == "unsubscribe" and str(form.get("List-Unsubscribe") or "") == "One-Click"
        refused = self._refuse(request, form, csrf=not one_click)
        if refused is not None:
            return refused
        from starlette.concurrency import run_in_threadpool

        if not one_click and not self.csrf.consume(str(form.get("csrf"))):
            return self.render("message.html", status=403, title="Refused", message=ALREADY_SENT)
        message = await run_in_threadpool(self._do_token_action, action, token)
        return self.render("message.html", title="Subscription", message=message)

    def _do_token_action(self, action: str, token: str) -> str:
        from alerts import AddressError, confirm, unsubscribe

        with self.archive(readonly=False) as archive:
            try:
                if action == "confirm":
                    confirm(archive, token)
                    return "Your subscription is confirmed."
                unsubscribe(archive, token, allow_address=False)
                return "You are unsubscribed: nothing more will be sent."
            except AddressError as exc:
                return str(exc)
