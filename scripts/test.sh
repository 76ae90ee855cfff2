#!/usr/bin/env bash
# Installs Safehold with its dev tools and runs the whole test suite: lint, types, tests.
# PostgreSQL tests use SAFEHOLD_TEST_PG_URL (default: 127.0.0.1:5432, database test, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
.venv/bin/ruff check safehold tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
