"""The OpenAPI description is the one served, and describes every route the API has."""

from __future__ import annotations

import re

from dashboard.api.openapi import SPEC, description
from dashboard.queue import registry


def test_the_served_description_names_this_installations_request_types(app):
    served = app.test_client().get("/api/v1/openapi.json").get_json()
    assert served == description(registry.codes())
    type_code = served["components"]["schemas"]["NewRequest"]["properties"]["type_code"]
    assert "test_echo" in type_code["enum"]
    assert "enum" not in SPEC["components"]["schemas"]["NewRequest"]["properties"]["type_code"]


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if "<any(" in path:
                choices = re.search(r"<any\(([^)]*)\):\w+>", path).group(1)
                for choice in choices.split(","):
                    found.add((method, re.sub(r"<any\([^)]*\):\w+>", choice.strip(), path)))
            else:
                found.add((method, path))
    return found


def test_every_route_is_described_and_every_description_is_a_route(app):
    described = {(method.upper(), path) for path, item in SPEC["paths"].items()
                 for method in item}
    assert described == _routes(app)


def test_every_operation_says_what_each_error_looks_like():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if status.startswith(("4", "5")):
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
            if operation.get("security") != []:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
