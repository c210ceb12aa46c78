"""The docs site builds with warnings as errors, and its generated pages are whole: every
setting on the configuration page, every operation of the API on its page. The README
stays a page long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.api.openapi import description
from dashboard.app.variables import VARIABLES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1",
             "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_configuration_page_lists_every_setting(site):
    page = (site / "configuration" / "index.html").read_text()
    missing = [v.name for v in VARIABLES if f"<code>{v.name}</code>" not in page]
    assert not missing


def test_the_api_page_describes_every_operation(site):
    page = (site / "api" / "index.html").read_text()
    for path, operations in description([])["paths"].items():
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"{method.upper()} {path}" in page


def test_every_page_of_the_navigation_is_built(site):
    for page in ("concepts", "request-types", "scheduling", "dashboard", "api",
                 "configuration", "deployment", "operations", "security", "benchmarks",
                 "architecture", "changelog", "commands"):
        assert (site / page / "index.html").exists(), page


def test_the_readme_fits_on_a_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
