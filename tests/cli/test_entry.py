"""The console script decides from the command line alone whether to start workers early."""

from __future__ import annotations

import pytest

from safehold.cli.entry import runs_workers


@pytest.mark.parametrize(("args", "expected"), [
    (["ingest", "case-1"], True),
    (["demo"], True),
    (["--data-dir", "/tmp/d", "--workers", "2", "ingest", "c"], True),
    (["--database-url", "postgresql://x/ingest", "ingest", "c", "3"], True),
    (["ingest", "c", "--executor", "inline"], False),
    (["ingest", "c", "--executor=inline"], False),
    (["ingest", "--help"], False),
    (["case", "new", "ingest"], False),  # a case named like a command is not a command
    (["--data-dir", "demo", "files", "c"], False),  # nor an option's value
    (["--as", "ivy", "ingest", "c"], True),
    (["--as", "demo", "files", "c"], False),  # an account named like a command
    (["summary", "c"], False),
    ([], False),
])
def test_worker_commands_are_recognised(args: list[str], expected: bool) -> None:
    assert runs_workers(args) is expected
