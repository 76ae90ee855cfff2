"""``safehold serve``: the review server on this machine (loopback by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safehold.cli.common import err_console

__all__ = ["LOOPBACK", "register"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on; 127.0.0.1 unless behind TLS.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
        insecure_http: Annotated[bool, typer.Option(
            "--insecure-http", help="Send cookies without the Secure flag (plain http on loopback only).")] = False,
        tls_cert: Annotated[Path | None, typer.Option(
            "--tls-cert", exists=True, dir_okay=False, help="PEM certificate (chain): serve https.")] = None,
        tls_key: Annotated[Path | None, typer.Option(
            "--tls-key", exists=True, dir_okay=False, help="PEM private key of --tls-cert.")] = None,
    ) -> None:
        """Serve the review web app (accounts: `safehold user add`).

        On a team's network, serve https (--tls-cert/--tls-key) or put a TLS proxy in front;
        plain http is allowed on loopback only."""
        import uvicorn

        from safehold.web.app import create_app

        settings = ctx.obj.settings()
        if (tls_cert is None) != (tls_key is None):
            err_console.print("--tls-cert and --tls-key go together")
            raise typer.Exit(1)
        tls = tls_cert is not None
        if insecure_http:
            if tls or host not in LOOPBACK:
                err_console.print("--insecure-http is for plain http on loopback only")
                raise typer.Exit(1)
            settings.web.secure_cookies = False
        elif settings.web.secure_cookies and not tls and host in LOOPBACK:
            err_console.print("[dim]cookies are Secure: browsers send them only over https. For plain http on "
                              "this machine, add --insecure-http.[/dim]")
        uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False, server_header=False,
                    log_level="info", ssl_certfile=tls_cert, ssl_keyfile=tls_key)
