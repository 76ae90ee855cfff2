"""``safehold serve``: the review server on this machine (loopback by default)."""

from __future__ import annotations

from typing import Annotated

import typer

from safehold.cli.common import err_console

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Address to listen on; 127.0.0.1 unless behind TLS.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
        insecure_http: Annotated[bool, typer.Option(
            "--insecure-http", help="Send cookies without the Secure flag (plain http on loopback only).")] = False,
    ) -> None:
        """Serve the review web app (accounts: `safehold user add`)."""
        import uvicorn

        from safehold.web.app import create_app

        settings = ctx.obj.settings()
        if insecure_http:
            if host not in ("127.0.0.1", "localhost", "::1"):
                err_console.print("--insecure-http is for loopback only")
                raise typer.Exit(1)
            settings.web.secure_cookies = False
        elif settings.web.secure_cookies and host in ("127.0.0.1", "localhost", "::1"):
            err_console.print("[dim]cookies are Secure: browsers send them only over https. For plain http on "
                              "this machine, add --insecure-http.[/dim]")
        uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=False, server_header=False,
                    log_level="info")
