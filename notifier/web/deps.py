"""Request-level access checks shared by the pages, the feeds and the API."""

from __future__ import annotations

from fastapi import HTTPException, Request

from notifier.web.auth import ANONYMOUS, Principal, audit, csrf_ok, principal_for

COOKIE = "snt_session"


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def reader(request: Request) -> Principal:
    """Pages and feeds: open on a loopback bind, a valid token elsewhere."""
    token = presented_token(request)
    if token:
        who = principal_for(request.app.state.ctx.engine, token)
        if who is None:
            raise HTTPException(401, "this token is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
        return who
    if request.app.state.local:
        return ANONYMOUS
    raise HTTPException(
        401, "sign in with an API token (notifier web token create NAME)", headers={"WWW-Authenticate": "Bearer"}
    )


def api_reader(request: Request) -> Principal:
    """The JSON API always needs a token (viewer or above), sent as `Authorization: Bearer <token>`."""
    who = reader(request)
    if who.role is None:
        raise HTTPException(
            401,
            "the API needs a token: notifier web token create NAME --role viewer, then "
            "send `Authorization: Bearer <token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


def actor(request: Request, role: str, csrf: str | None) -> Principal:
    """Someone allowed to act (role or above) on a form they were given: CSRF checked for cookie sessions."""
    who = reader(request)
    if not who.can(role):
        raise HTTPException(403, f"this needs the {role} role; sign in with a {role} or admin token")
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not csrf_ok(request.app.state.secret, request.cookies.get(COOKIE), csrf):
        raise HTTPException(403, "the form has expired or did not come from this site (CSRF check); reload it")
    return who


def record_action(request: Request, who: Principal, action: str, target: str, detail: str | None = None) -> None:
    client = request.client.host if request.client else None
    audit(request.app.state.ctx.engine, who.name, action, target, detail, client)
