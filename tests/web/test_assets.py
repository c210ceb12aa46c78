"""Static files under fingerprinted names, cached for a year; HTML and JSON compressed
when the client asks (issue 14, item 14)."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from flask import Response

from dashboard import PACKAGE
from dashboard.web.assets import FINGERPRINTED_MAX_AGE, fingerprints

YEAR = 365 * 24 * 3600


@pytest.fixture
def db_url(tmp_path) -> str:
    """Serving and compression do not depend on the database: SQLite alone."""
    return f"sqlite:///{tmp_path / 'queue.db'}"


def static_urls(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', page)


def max_age(response) -> int:
    return int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1))


def test_pages_link_fingerprinted_files_cached_for_a_year(app):
    client = app.test_client()
    urls = static_urls(client.get("/login").get_data(as_text=True))
    assert len(urls) >= 3
    for url in urls:
        name, _digest, suffix = re.fullmatch(r"/static/(.+)\.([0-9a-f]{12})(\.\w+)", url).groups()
        response = client.get(url, buffered=True)
        assert response.status_code == 200
        assert max_age(response) >= YEAR == FINGERPRINTED_MAX_AGE
        assert "immutable" in response.headers["Cache-Control"]
        assert response.get_data() == (PACKAGE / "static" / f"{name}{suffix}").read_bytes()


def test_an_old_fingerprint_gets_404_and_the_bare_name_is_revalidated(app):
    client = app.test_client()
    url = next(u for u in static_urls(client.get("/login").get_data(as_text=True))
               if "dashboard." in u and u.endswith(".css"))
    old = re.sub(r"\.[0-9a-f]{12}\.css$", ".0123456789ab.css", url)
    assert client.get(old).status_code == 404
    bare = client.get("/static/dashboard.css", buffered=True)
    assert bare.status_code == 200 and max_age(bare) == 0
    for wrong in ("/static/nothing.css", "/static/../dashboard/__init__.py",
                  "/static/%2e%2e/pyproject.toml"):
        assert client.get(wrong).status_code == 404, wrong


def test_a_fingerprint_follows_the_content(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("a {}")
    (tmp_path / "app.min.js").write_text("1")
    before = fingerprints(tmp_path)
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", before["css/site.css"])
    assert re.fullmatch(r"app\.min\.[0-9a-f]{12}\.js", before["app.min.js"])
    (tmp_path / "css" / "site.css").write_text("a { color: red }")
    after = fingerprints(tmp_path)
    assert after["css/site.css"] != before["css/site.css"]
    assert after["app.min.js"] == before["app.min.js"]


@pytest.mark.parametrize(("asked", "encoding", "decode"), [
    ("gzip", "gzip", gzip.decompress),
    ("gzip, deflate, br", "br", brotli.decompress),
    ("br;q=0, gzip", "gzip", gzip.decompress),
])
def test_html_and_json_are_compressed_when_asked(viewer, asked, encoding, decode):
    client = viewer
    for url, kind in [("/jobs", "text/html"), ("/api/v1/openapi.json", "application/json")]:
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": asked})
        assert plain.status_code == packed.status_code == 200
        assert "Content-Encoding" not in plain.headers
        assert packed.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert packed.mimetype == kind
        unpacked = decode(packed.get_data())
        assert len(packed.get_data()) < len(unpacked) / 2
        if kind == "application/json":
            assert unpacked == plain.get_data()
        else:  # a page's CSRF token and relative times differ from one render to the next
            assert unpacked.startswith(b"<!doctype html>")
            assert unpacked.rstrip().endswith(b"</html>")
            assert abs(len(unpacked) - len(plain.get_data())) < 100


@pytest.mark.parametrize(("asked", "encoding", "decode"), [
    ("gzip", "gzip", gzip.decompress), ("br", "br", brotli.decompress)])
def test_static_files_are_compressed_when_asked(app, asked, encoding, decode):
    client = app.test_client()
    for url in static_urls(client.get("/login").get_data(as_text=True)):
        packed = client.get(url, headers={"Accept-Encoding": asked}, buffered=True)
        assert packed.headers["Content-Encoding"] == encoding, url
        name = re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", url.removeprefix("/static/"))
        assert decode(packed.get_data()) == (PACKAGE / "static" / name).read_bytes()
        assert int(packed.headers["Content-Length"]) == len(packed.get_data())


def test_what_the_client_cannot_read_is_not_compressed(app):
    client = app.test_client()
    for asked in ("identity", "compress", "zstd"):
        response = client.get("/login", headers={"Accept-Encoding": asked})
        assert "Content-Encoding" not in response.headers
        assert b"<form" in response.get_data()


def test_metrics_still_answers_a_scraper_that_asks_for_gzip(app):
    client = app.test_client()
    app.config["METRICS_TOKEN"] = "scrape-" + "m" * 24
    response = client.get("/metrics", headers={
        "Authorization": f"Bearer {app.config['METRICS_TOKEN']}", "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert b"# TYPE" in body


def test_a_streamed_response_still_streams(app, as_role):
    chunks = [f"line {n}\n" * 100 for n in range(5)]

    @app.get("/test-stream")
    def stream() -> Response:
        return Response((chunk for chunk in chunks), mimetype="text/html")

    client = as_role("viewer")
    whole = "".join(chunks).encode()
    packed = client.get("/test-stream", headers={"Accept-Encoding": "br"}, buffered=True)
    assert packed.headers["Content-Encoding"] == "br" and "Content-Length" not in packed.headers
    assert brotli.decompress(packed.get_data()) == whole
    plain = client.get("/test-stream", headers={"Accept-Encoding": "gzip"}, buffered=True)
    assert "Content-Encoding" not in plain.headers and plain.get_data() == whole


@pytest.mark.parametrize("url", ["/jobs?q=invoice", "/jobs?relation=cust-1", "/jobs?state=failed"])
def test_a_page_that_may_reflect_its_query_is_not_compressed(viewer, url):
    """It holds the CSRF token beside the reflected input: compressed, the two would leak
    the token through the response's size (BREACH)."""
    page = viewer.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers
    assert page.get_data().startswith(b"<!doctype html>")
    plain = viewer.get("/jobs", headers={"Accept-Encoding": "gzip, br"})
    assert plain.headers["Content-Encoding"] == "br"  # no query: compressed as before
    json = viewer.get("/api/v1/openapi.json?x=1", headers={"Accept-Encoding": "gzip"})
    assert json.headers["Content-Encoding"] == "gzip"  # no CSRF token in the API's JSON
