"""``vpp serve`` and ``vpp token create`` (registered in :mod:`vpp.cli`; also ``python -m api.cli``)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="The scheduling service.")
token_app = typer.Typer(no_args_is_help=True, help="Access tokens.")
app.add_typer(token_app, name="token")


def load_settings() -> Settings:
    """The settings from the environment; a bad value exits with code 2 and the variable's name, no traceback."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "VPP_" + "_".join(str(p) for p in err["loc"]).upper()
            typer.echo(f"error: {name}: {err['msg']} (got {err.get('input')!r})", err=True)
        raise typer.Exit(2) from None


def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the service with uvicorn on ``host:port`` (default VPP_HOST / VPP_PORT: 127.0.0.1:8000)."""
    import uvicorn

    from api.app import create_app
    from api.servers import DatabaseInUseError, hold_sqlite

    settings = load_settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    try:
        application = create_app(settings)
    except ValueError as exc:  # e.g. a malformed VPP_API_TOKENS (the message never holds a token)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:  # SQLite takes one server: a second one on the same file stops here with the reason
        hold_sqlite(settings.resolved_database_url)
    except DatabaseInUseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(application, host=settings.host, port=settings.port, access_log=False,
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=10)


def token_create(role: str, name: str | None = None) -> None:
    """Store a new token's hash with ``role`` in the database (VPP_DATABASE_URL or the default) and print it once."""
    from api.db import make_engine, migrate, session_factory
    from api.security import ROLES, create_token

    if role not in ROLES:
        typer.echo(f"error: unknown role {role!r}: expected one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        token = create_token(session, role, name)
    engine.dispose()
    typer.echo(token)
    typer.echo(f"role {role}; store it now: it is not shown again (the database keeps only its hash)", err=True)


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to bind (default VPP_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VPP_PORT or 8000).")] = None,
) -> None:
    """Run the scheduling service."""
    serve(host, port)


@token_app.command("create")
def token_create_command(
    role: Annotated[str, typer.Option(help="viewer, operator, planner or admin.")],
    name: Annotated[str | None, typer.Option(help="A label for the token.")] = None,
) -> None:
    """Store a new token (hashed) and print it once."""
    token_create(role, name)


if __name__ == "__main__":
    app()
