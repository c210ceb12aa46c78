"""deploy/entrypoint.sh as the container runs it: upgrade, then gunicorn; real processes."""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.deploy.image import (
    ROOT,
    Process,
    build_context,
    environment,
    healthcheck_command,
    wait_until_served,
)
from tests.support.network import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return build_context(tmp_path_factory.mktemp("app"))


@pytest.fixture
def start(tree, tmp_path):
    """Start the entry point (or another command) from the image's files."""
    started: list[Process] = []

    def start(*args: str, command: list[str] | None = None, **variables: str) -> Process:
        logs = tmp_path / f"run{len(started)}"
        process = Process(command or ["sh", str(tree / "deploy/entrypoint.sh"), *args],
                          environment(tree, **variables), cwd=tmp_path, logs=logs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def serve(start, **variables: str) -> tuple[Process, str, int]:
    port = free_port()
    process = start(GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}", WEB_CONCURRENCY="1",
                    **variables)
    return process, f"http://127.0.0.1:{port}/healthz", port


def head() -> str:
    """The newest migration's revision."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "dashboard" / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def is_gunicorn(pid: int) -> bool:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return b"gunicorn" in cmdline.read()


def test_sqlite_fresh_file_upgraded_served_and_stopped(start, tree):
    (tree / "instance" / "asyncqueue.db").unlink(missing_ok=True)
    process, url, port = serve(start, LOG_FORMAT="json")
    assert wait_until_served(process, url) == (200, {"database": "ok", "last_digest_at": None})
    # The default database: a new file in the image's instance folder.
    assert (tree / "instance" / "asyncqueue.db").exists()
    # The shell exec'd gunicorn: the container's main process is gunicorn itself.
    assert is_gunicorn(process.popen.pid)
    # Docker's HEALTHCHECK passes.
    check = subprocess.run(healthcheck_command(), env=environment(tree, PORT=str(port)),
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert process.stop() == 0
    # Access log on standard output, JSON lines; the upgrade's and gunicorn's lines too.
    access = [json.loads(line) for line in process.stdout.splitlines()
              if line.startswith("{") and '"gunicorn.access"' in line]
    assert {(a["method"], a["path"], a["status"]) for a in access} == {("GET", "/healthz", "200")}
    errors = [json.loads(line) for line in process.stderr.splitlines() if line.startswith("{")]
    messages = " | ".join(e["message"] for e in errors)
    assert "Running upgrade  -> 0001" in messages
    assert "Listening at: http://127.0.0.1:" in messages
    assert "Handling signal: term" in messages


def test_postgresql_upgraded_and_served(start, fresh_postgresql):
    url = fresh_postgresql.render_as_string(hide_password=False)
    process, health, _ = serve(start, DATABASE_URL=url)
    assert wait_until_served(process, health)[0] == 200
    engine = sa.create_engine(fresh_postgresql)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == head()
    engine.dispose()
    assert process.stop() == 0
    assert "Listening at: http://127.0.0.1:" in process.stderr


def test_gives_up_after_the_tries_with_a_clear_message(start):
    process, _, _ = serve(start, DB_UPGRADE_TRIES="2", DB_UPGRADE_INTERVAL="0",
                          DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/q")
    assert process.wait() == 1
    lines = [line for line in process.stderr.splitlines() if line.startswith("entrypoint:")]
    assert [line.split(":")[1] for line in lines] == [
        " database not ready (try 1 of 2)", " giving up"]
    assert "the database upgrade failed 2 times; last error: " in lines[-1]
    assert "Connection refused" in lines[-1]
    assert "Listening" not in process.stderr + process.stdout


@pytest.mark.parametrize(("name", "value"), [("DB_UPGRADE_TRIES", "many"),
                                             ("DB_UPGRADE_TRIES", "0"),
                                             ("DB_UPGRADE_INTERVAL", "soon")])
def test_bad_retry_settings_are_refused(start, name, value):
    process = start(**{name: value})
    assert process.wait() == 2
    assert f"entrypoint: {name} must be" in process.stderr


class Forwarder:
    """A TCP port that forwards to the real database once ``open()`` is called: the
    database "starting" while the entry point waits for it."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.sockets: list[socket.socket] = []

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.sockets.append(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def test_waits_for_a_database_that_starts_late(start, fresh_postgresql):
    forwarder = Forwarder(free_port(), (fresh_postgresql.host, fresh_postgresql.port or 5432))
    url = fresh_postgresql.set(port=forwarder.port).render_as_string(hide_password=False)
    process, health, _ = serve(start, DATABASE_URL=url, DB_UPGRADE_INTERVAL="0.5")
    try:
        process.wait_for("entrypoint: database not ready (try 1 of 30)")
        forwarder.open()
        assert wait_until_served(process, health)[0] == 200
        assert process.stop() == 0
    finally:
        forwarder.close()


def test_healthcheck_fails_when_the_database_is_down(start, tree):
    """gunicorn serves, the database does not answer: Docker marks the container unhealthy."""
    port = free_port()
    process = start(
        command=["gunicorn", "-c", "python:dashboard.gunicorn_conf", "dashboard:create_app()"],
        GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port} --chdir={tree}", WEB_CONCURRENCY="1",
        DATABASE_URL=f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/q")
    status, body = wait_until_served(process, f"http://127.0.0.1:{port}/healthz")
    assert (status, body) == (503, {"database": "unavailable"})
    check = subprocess.run(healthcheck_command(), env=environment(tree, PORT=str(port)),
                           capture_output=True, timeout=30)
    assert check.returncode != 0
    assert b"503" in check.stderr
    assert process.stop() == 0


def test_any_other_command_runs_instead_of_the_server(start, tmp_path):
    """The digest service runs `flask --app dashboard digest --loop` through the entry point:
    no upgrade first (the web service does that), the command is exec'd as it is."""
    process = start("flask", "--app", "dashboard", "digest",
                    DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert process.wait() == 1
    assert "run `flask --app dashboard db upgrade` first" in process.stderr
    assert "Running upgrade" not in process.stderr


def test_a_wrong_setting_stops_at_once_with_one_line(start):
    process = start(QUEUE_ALERT_TO="not-an-address", DB_UPGRADE_INTERVAL="5")
    assert process.wait(timeout=30) == 2  # no retries: waiting won't mend a setting
    assert process.stderr.strip().splitlines() == [
        "Error: QUEUE_ALERT_TO: 'not-an-address' is not an email address"]
    assert "database not ready" not in process.stderr


def test_the_image_serves_fingerprinted_static_files_and_compressed_pages(start, tree):
    """What the browser tests see from gunicorn, the image's gunicorn settings serve too."""
    process, url, port = serve(start)
    assert wait_until_served(process, url)[0] == 200
    base = f"http://127.0.0.1:{port}"

    def get(path: str, encoding: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(base + path, headers={"Accept-Encoding": encoding})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    status, headers, body = get("/login", "gzip")
    assert (status, headers.get("Content-Encoding")) == (200, "gzip")
    page = gzip.decompress(body).decode()
    statics = re.findall(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"', page)
    assert len(statics) >= 3
    for path in statics:
        status, headers, body = get(path, "identity")
        assert status == 200 and "Content-Encoding" not in headers and body
        assert "max-age=31536000" in headers["Cache-Control"]
    status, headers, _ = get(re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", statics[0]), "gzip")
    assert status == 404
    assert process.stop() == 0
