#!/usr/bin/env bash
# Writes requirements/image.txt and requirements/test.txt from pyproject.toml (pip-tools).
# Extra arguments go to pip-compile (e.g. --upgrade, --upgrade-package flask).
set -euo pipefail
cd "$(dirname "$0")/.."
# The project itself is left out (--unsafe-package): the lock holds what it needs.
options=(--quiet --strip-extras --no-emit-find-links --no-emit-index-url
         --unsafe-package asyncqueue-dashboard --resolver backtracking)
pip-compile "${options[@]}" --extra all -o requirements/image.txt "$@" pyproject.toml
pip-compile "${options[@]}" --extra test -o requirements/test.txt "$@" pyproject.toml
