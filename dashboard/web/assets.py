"""Static files under fingerprinted names, cached for a year; responses compressed.

``url_for("static", filename="dashboard.css")`` gives ``/static/dashboard.<hash>.css``,
the hash being the first 12 hex digits of the file's SHA-256 when the app started. That
URL never changes content, so browsers keep it for a year without asking again
(``immutable``); a new release has new names. A name whose hash is no longer current
(a page cached from the last release) gets a plain 404, and the bare name still answers,
revalidated each time, for anything that links to it directly.

Flask-Compress compresses HTML, JSON, CSS and JavaScript (brotli or gzip) for a client
that sends ``Accept-Encoding``; nothing else, and nothing for a client that does not ask,
nor a page that may show the request's own input (``PageCompress``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, abort, request, send_from_directory
from flask_compress import Compress

#: A year: the longest lifetime RFC 9111 caches are asked to honour.
FINGERPRINTED_MAX_AGE = 365 * 24 * 3600

#: Flask-Compress settings: what is compressed, and how.
COMPRESSION = {
    "COMPRESS_MIMETYPES": ["text/html", "application/json", "application/problem+json",
                           "text/css", "text/javascript", "application/javascript"],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    # A streamed response is compressed chunk by chunk, each flushed as it comes; gzip
    # cannot be flushed that way in Flask-Compress, so a gzip-only client gets it plain.
    "COMPRESS_ALGORITHM_STREAMING": ["br"],
    "COMPRESS_MIN_SIZE": 500,
}


def fingerprints(folder: Path) -> dict[str, str]:
    """Each file's name under ``folder`` (relative, with /) -> its fingerprinted name."""
    names = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(folder)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        names[name.as_posix()] = name.with_name(f"{path.stem}.{digest}{path.suffix}").as_posix()
    return names


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder or "")
    names = fingerprints(folder)
    current = {fingerprinted: name for name, fingerprinted in names.items()}

    def fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in names:
            values["filename"] = names[values["filename"]]

    def static(filename: str) -> Response:
        """A static file: for a year under its fingerprinted name, revalidated under its own."""
        if filename in current:
            response = send_from_directory(folder, current[filename],
                                           max_age=FINGERPRINTED_MAX_AGE)
            response.headers["Cache-Control"] = (
                f"public, max-age={FINGERPRINTED_MAX_AGE}, immutable")
        elif filename in names:
            response = send_from_directory(folder, filename, max_age=0)
        else:
            abort(404)  # unknown, or the fingerprint of another release
        # Read whole (the files are small), so Flask-Compress may gzip them as well as
        # brotli them: it compresses a streamed file with brotli only, and Chrome asks for
        # brotli over HTTPS only.
        response.direct_passthrough = False
        response.make_sequence()
        return response

    app.url_defaults(fingerprint)
    app.view_functions["static"] = static
    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    PageCompress(app)


class PageCompress(Compress):
    """Flask-Compress, but for a page that may show the request's own input (a query
    string, a form sent back): such a page also holds the CSRF token, and compressing the
    two together lets an attacker who makes the browser send chosen input and sees the
    sizes guess the token (BREACH). Those pages are sent uncompressed."""

    def after_request(self, response: Response | None) -> Response:
        if (response is not None and response.mimetype == "text/html"
                and (request.query_string or request.method != "GET")):
            return response
        return super().after_request(response)
