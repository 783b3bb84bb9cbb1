"""`notifier web`: the web pages, feeds and JSON API; `notifier web token ...`: who may use them."""

from __future__ import annotations

from typing import Annotated

import typer

from notifier.cli.common import app, context, fail, out, when

web_app = typer.Typer(help="The web pages, Atom feeds and JSON API (and their access tokens).")
token_app = typer.Typer(help="API tokens: stored hashed, shown once.", no_args_is_help=True)
web_app.add_typer(token_app, name="token")
app.add_typer(web_app, name="web")


@web_app.callback(invoke_without_command=True)
def web(
    typer_ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs a token to read.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
) -> None:
    """Serve the dashboard, changes, records, feeds and API (http://127.0.0.1:8080 by default)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    from notifier.web.server import serve

    svc = context(with_routing=True)  # an accepted quarantined snapshot alerts subscribers
    out.print(f"serving on http://{host}:{port}/ (API docs: /api/docs)", markup=False)
    try:
        serve(svc, host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what holds the token (unique).")],
    role: Annotated[str, typer.Option(help="viewer (read), reviewer (+ review hits and quarantine) or admin.")] = (
        "viewer"
    ),
) -> None:
    """Create a token and print it once (only its sha256 is stored)."""
    from notifier.web.auth import create_token

    svc = context(with_routing=False)
    token = create_token(svc.engine, name, role)
    out.print(token, markup=False)


@token_app.command("list")
def token_list() -> None:
    """Token names, roles and last use (never the tokens)."""
    from notifier.web.auth import list_tokens

    svc = context(with_routing=False)
    for t in list_tokens(svc.engine):
        state = f"revoked {when(t.revoked_at)}" if t.revoked_at else f"last used {when(t.last_used_at)}"
        out.print(f"{t.name}  {t.role}  created {when(t.created_at)}  {state}", markup=False)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token at once."""
    from notifier.web.auth import revoke_token

    svc = context(with_routing=False)
    if not revoke_token(svc.engine, name):
        fail(f"no active token named {name!r} (see `notifier web token list`)")
    out.print(f"revoked {name}", markup=False)
