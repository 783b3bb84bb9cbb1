"""The web application: pages, feeds and API on one FastAPI app over the service's database.

Publisher text is data: Jinja2 autoescapes everything, links are only http(s), and a strict Content-Security-Policy
stops any script that might slip through. Server time is reported in a Server-Timing header on every answer.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifier.app import Service
from notifier.web import api, apidocs, pages, quarantine, review
from notifier.web.auth import ANONYMOUS, load_secret
from notifier.web.present import safe_url, show, when
from notifier.web.queries import BadFilter

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, safe_url=safe_url, show=show)
    return env


def create_app(ctx: Service, *, local: bool = True) -> FastAPI:
    """`local`: bound to a loopback address only, where pages may be read without a token."""
    app = FastAPI(
        title="sanctions-notifier",
        description="Change events of official sanctions lists: a delta cursor, records and their history, "
        "screening, CSV audit export. Send `Authorization: Bearer <token>` (`notifier web token create`).",
        docs_url=None,  # /api/docs is ours (notifier/web/apidocs.py): Swagger UI needs a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = ctx
    app.state.local = local
    app.state.secret = load_secret(ctx.settings.data_dir)
    app.state.templates = templates()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(review.router)
    app.include_router(quarantine.router)
    app.include_router(api.router)
    app.include_router(apidocs.router)

    @app.middleware("http")
    async def timing_and_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def _error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
        if request.url.path.startswith(("/api/", "/feeds/")):
            return JSONResponse({"detail": message}, status_code=status, headers=headers)
        html = app.state.templates.get_template("error.html").render(
            request=request, who=ANONYMOUS, status=status, message=message, metas=ctx.metas, csrf=""
        )
        return HTMLResponse(html, status_code=status, headers=headers)

    @app.exception_handler(BadFilter)
    async def bad_filter(request: Request, exc: BadFilter) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return _error(request, 422, "; ".join(parts) or "invalid request")

    return app
