#!/usr/bin/env bash
# Sets up a virtualenv (.venv) with the project and its test tools, lints (ruff) and type
# checks (mypy) the code, then runs the whole test suite: SQLite always, PostgreSQL and
# MariaDB when reachable (see tests/support/databases.py).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests' Chromium, and libfaketime for the tests of skewed clocks.
if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/faketime ]; } && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium faketime \
        >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# The lock's versions (requirements/test.txt), as CI and the image have them. Compiled at
# install: where PYTHONDONTWRITEBYTECODE is set (as on CI's machines), a module left
# uncompiled would be compiled again by every process that imports it.
.venv/bin/pip install -q --disable-pip-version-check -c requirements/test.txt -e '.[test]'
.venv/bin/ruff check dashboard tests bench
.venv/bin/mypy
# In four pytest-xdist workers, each with databases of its own (tests/support/databases.py);
# a file's tests stay on one worker ("loadfile"), so a module's big seed is made once.
# "-n 0" after it runs the tests in this one process instead.
exec .venv/bin/python -m pytest -n 4 --dist loadfile "$@"
