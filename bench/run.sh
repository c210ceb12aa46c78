#!/usr/bin/env bash
# Issue 7's benchmark in one command (see docs/benchmarks.md):
#   bench/run.sh            the full run (about 15 minutes on 2 cores)
#   bench/run.sh --quick    a smaller one (a few minutes)
#   bench/run.sh --help     every option
# Needs PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (127.0.0.1:3306, root).
# The peers (procrastinate, pgqueuer) and the plot's matplotlib go into bench/.venv-peers,
# never into the project's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -c requirements/image.txt -e '.[all]'
exec .venv/bin/python -m bench.run "$@"
