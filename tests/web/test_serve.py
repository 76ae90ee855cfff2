"""``safehold serve`` starts the real server; plain-http cookies are for loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from safehold.cli.app import app as cli
from tests.web.test_browser import _free_port


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "SAFEHOLD_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFEHOLD_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "safehold.cli", "serve", "--port", str(port), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, port


def _first_answer(proc: subprocess.Popen[bytes], url: str, **kwargs: object) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=2, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path, "--insecure-http")
    try:
        r = _first_answer(proc, f"http://127.0.0.1:{port}/login")
        assert r.status_code == 200 and "Sign in" in r.text
        assert "secure" not in r.headers["set-cookie"].lower()
        assert "strict-transport-security" not in r.headers
        assert httpx.get(f"http://127.0.0.1:{port}/cases", headers={"Accept": "application/json"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_speaks_https_with_secure_cookies(tmp_path: Path) -> None:
    """A self-signed certificate made here with Debian's openssl: the server's own TLS."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    proc, port = _serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        r = _first_answer(proc, f"https://127.0.0.1:{port}/login", verify=False)
        assert r.status_code == 200 and "Sign in" in r.text
        assert "; secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"] == "max-age=31536000"
    finally:
        proc.terminate()
        proc.wait(10)


def test_insecure_http_is_refused_off_loopback(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0", "--insecure-http"])
    assert r.exit_code == 1 and "loopback only" in r.output
    key = tmp_path / "key.pem"
    key.write_text("")
    half = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "serve", "--tls-key", str(key)])
    assert half.exit_code == 1 and "go together" in half.output
