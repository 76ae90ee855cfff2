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


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SAFEHOLD_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFEHOLD_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "safehold.cli", "serve", "--port", str(port), "--insecure-http"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert r.status_code == 200 and "Sign in" in r.text
        assert "secure" not in r.headers["set-cookie"].lower()
        assert httpx.get(f"http://127.0.0.1:{port}/cases", headers={"Accept": "application/json"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)


def test_insecure_http_is_refused_off_loopback(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0", "--insecure-http"])
    assert r.exit_code == 1 and "loopback only" in r.output
