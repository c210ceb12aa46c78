#!/usr/bin/env bash
# The demo on a fresh machine: sets up a virtualenv, creates the SQLite database in
# instance/, enqueues demo jobs, creates a demo login and an API token (written to
# instance/demo-token, replaced on every start), runs the digest every 3 seconds in the
# background and serves the dashboard and the API in the foreground. Ctrl-C stops both.
# Environment: PORT (default 8000), DEMO_PASSWORD (default demo-password).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8000}"
DEMO_USER=demo
DEMO_PASSWORD="${DEMO_PASSWORD:-demo-password}"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# SQLite and gunicorn (the server extra), at the lock's versions.
.venv/bin/pip install -q --disable-pip-version-check -c requirements/image.txt -e '.[server]'
export FLASK_APP=dashboard QUEUE_TYPES=dashboard.queue.demo QUEUE_RETRY_DELAY="${QUEUE_RETRY_DELAY:-5}"
.venv/bin/flask db upgrade
.venv/bin/flask demo-seed --jobs 24
if ! printf '%s\n' "$DEMO_PASSWORD" | .venv/bin/flask users create "$DEMO_USER" --role admin \
        --password-stdin 2>/dev/null; then
    printf '%s\n' "$DEMO_PASSWORD" | .venv/bin/flask users set-password "$DEMO_USER" --password-stdin
fi

mkdir -p instance
# An operator token for the README's curl examples: $(cat instance/demo-token).
(umask 077 && .venv/bin/flask tokens create demo --role operator --replace \
    > instance/demo-token)
.venv/bin/flask digest --loop --interval 3 >> instance/demo-digest.log 2>&1 &
digest_pid=$!
trap 'kill "$digest_pid" 2>/dev/null || true' EXIT

echo
echo "Dashboard: http://127.0.0.1:$PORT/"
echo "Login:     $DEMO_USER / $DEMO_PASSWORD (admin)"
echo "API:       http://127.0.0.1:$PORT/api/v1/jobs with the operator token in instance/demo-token"
echo "The digest runs every 3 seconds in the background (log: instance/demo-digest.log)."
echo "Ctrl-C stops the dashboard and the digest."
echo
# The shipped settings (threaded workers, a read timeout for slow clients), on 127.0.0.1.
.venv/bin/gunicorn -c python:dashboard.gunicorn_conf --bind "127.0.0.1:$PORT" "dashboard:create_app()"
