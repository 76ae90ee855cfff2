"""Who the CLI acts as: the local operator by default, or ``--as NAME`` / ``SAFEHOLD_USER`` with that
account's rights; either way each use case leaves one audit record naming the actor and the OS user.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from safehold.cli.app import app
from safehold.services.context import local_actor, os_user

PASSWORD = "correct horse battery"


class Cli:
    def __init__(self, tmp_path: Path, db_url: str) -> None:
        self.base = ["--data-dir", str(tmp_path / "data"), "--database-url", db_url]
        self.tmp = tmp_path

    def __call__(self, *args: str, code: int = 0, user: str | None = None, stdin: str | None = None) -> Result:
        env = {"SAFEHOLD_USER": user} if user else {"SAFEHOLD_USER": ""}
        res = CliRunner().invoke(app, [*self.base, *args], input=stdin, env=env, catch_exceptions=False)
        assert res.exit_code == code, (args, res.output)
        return res

    def audit(self) -> list[dict[str, Any]]:
        out = self.tmp / "audit.jsonl"
        self("audit", "export", "-o", str(out))
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    def evidence(self) -> Path:
        folder = self.tmp / "seized"
        folder.mkdir(exist_ok=True)
        (folder / "notes.txt").write_text("benign")
        return folder


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Cli:
    return Cli(tmp_path, db_url)


def test_each_use_case_leaves_one_record_naming_the_operator_and_os_user(cli: Cli) -> None:
    cli("case", "new", "op")
    cli("evidence", "add", "op", str(cli.evidence()), "--label", "Exhibit A")
    cli("ingest", "op", "--executor", "inline", "-q")  # then its three jobs
    cli("analyse", "op", "-q")  # nothing new: still recorded
    cli("artifacts", "op")
    cli("jobs", "op", "--run", "gallery")
    listed = cli.tmp / "list.md5"
    listed.write_text(f"{'0' * 31}1  other.jpg\n")
    cli("hashset", "import", str(listed), "--name", "unit list", "--kind", "watch", "--no-match")
    cli("match", "op")
    cli("export", "vics", "op", "-o", str(cli.tmp / "case.json"))
    cli("hashset", "remove", "unit list")
    cli("user", "add", "ivy", "--role", "investigator", stdin=PASSWORD + "\n")
    cli("case", "update", "op", "--status", "closed")

    records = cli.audit()
    actions = [r["action"] for r in records]
    for action in ("case-create", "evidence-add", "ingest-start", "ingest-finish", "analyse-start",
                   "analyse-finish", "artifacts-list", "hashset-import", "export-vics", "hashset-remove", "user-add",
                   "case-update", "export-audit"):
        assert actions.count(action) == 1, (action, actions)
    # ingest's three jobs (its match job has no list yet, so no match record) and `jobs --run gallery`
    assert actions.count("job-run") == 4 and actions.count("match") == 1
    assert len(records) == 14 + 4
    assert {r["actor"] for r in records} == {local_actor()}  # "cli:<OS user>"
    assert {r["details"]["os_user"] for r in records} == {os_user()}
    assert next(r for r in records if r["action"] == "case-update")["details"]["changes"] == {
        "status": ["open", "closed"]}


def test_as_a_named_account_with_its_rights(cli: Cli) -> None:
    cli("case", "new", "op")
    cli("user", "add", "rex", "--role", "reviewer", "--case", "op", stdin=PASSWORD + "\n")
    cli("user", "add", "ivy", "--role", "investigator", "--case", "op", stdin=PASSWORD + "\n")
    folder = str(cli.evidence())

    for args in (("case", "new", "rex's"), ("evidence", "add", "op", folder, "--label", "x"), ("match", "op"),
                 ("export", "vics", "op", "-o", str(cli.tmp / "x.json")), ("user", "add", "eve", "--role", "admin")):
        res = cli("--as", "rex", *args, code=1, stdin=PASSWORD + "\n")
        assert res.stderr.startswith("error: not allowed to ") and res.stderr.count("\n") == 1, res.stderr
    assert not (cli.tmp / "x.json").exists()
    assert "op" in cli("--as", "rex", "case", "list").stdout  # what a reviewer may do, he still may

    cli("evidence", "add", "op", folder, "--label", "Exhibit B", user="ivy")  # SAFEHOLD_USER
    cli("--as", "ivy", "match", "op")
    assert cli("--as", "ivy", "case", "new", "ivy's", "--json").stdout
    cli("--as", "ivy", "evidence", "add", "ivy's", folder, "--label", "Exhibit C")  # she joined her case
    assert cli("--as", "ivy", "case", "list").stdout.count("\n") == 2
    cli("--as", "ivy", "audit", "verify", code=1)  # investigators do not read the audit log

    records = cli.audit()
    mine = [r for r in records if r["actor"] == "user:ivy"]
    assert [r["action"] for r in mine] == ["evidence-add", "match", "case-create", "evidence-add"]
    assert all(r["details"]["os_user"] == os_user() for r in mine)
    evidence = json.loads(cli("--as", "ivy", "evidence", "list", "op", "--json").stdout)
    assert evidence[0]["custody"][0]["actor"] == "user:ivy"  # the custody trail names her too


def test_an_unknown_or_disabled_account_is_refused_in_one_line(cli: Cli) -> None:
    cli("user", "add", "gone", "--role", "investigator", stdin=PASSWORD + "\n")
    cli("user", "disable", "gone")
    res = cli("--as", "nobody", "case", "list", code=1)
    assert res.stderr == "error: no account named 'nobody'\n"
    res = cli("case", "new", "x", user="gone", code=1)
    assert res.stderr == "error: the account 'gone' is disabled\n"
    assert cli("case", "list").stdout == ""  # nothing was created
