"""The OpenAPI description is the one served, and describes every route the API has."""

from __future__ import annotations

import re

import pytest

from dashboard.api.openapi import SPEC, description
from dashboard.queries.filters import FILTER_STATES
from dashboard.queue import registry
from dashboard.queue.operations.actions import ACTIONS
from tests.support.api import job_body


def _type_code(spec: dict) -> dict:
    return spec["components"]["schemas"]["NewRequest"]["properties"]["type_code"]


def test_the_served_description_names_this_installations_request_types(app):
    served = app.test_client().get("/api/v1/openapi.json").get_json()
    assert served == description(registry.codes())
    type_code = _type_code(served)
    assert "test_echo" in type_code["description"] and "test_echo" in type_code["examples"]
    # A pattern, not an enum: a client generated from it takes types added later.
    assert "enum" not in type_code and type_code["pattern"].startswith("^")


def test_the_description_is_the_same_for_every_deployment_but_its_words():
    """Two installations with other request types: their schemas are one."""
    first, second = description(["billing_sync"]), description(["crm_push", "mailer"])
    for spec in (first, second):
        del _type_code(spec)["description"], _type_code(spec)["examples"]
    assert first == second
    assert SPEC["servers"] == [{"url": "/", "description": "The dashboard serving this "
                                                            "description."}]


def _statuses(path: str, method: str = "post") -> set[str]:
    return set(SPEC["paths"][path][method]["responses"])


#: What each operation can answer besides its successes, as the server gives it.
ERRORS = {
    ("post", "/api/v1/jobs"): {"400", "401", "403", "413", "415", "422", "429", "503"},
    ("post", "/api/v1/jobs/batch"): {"400", "401", "403", "413", "415", "422", "429", "503"},
    ("get", "/api/v1/jobs"): {"400", "401", "403", "429", "503"},
    ("get", "/api/v1/jobs/{job_id}"): {"401", "403", "404", "429", "503"},
    **{("post", f"/api/v1/jobs/{{job_id}}/{code}"): {"401", "403", "404", "409", "429", "503"}
       for code, action in ACTIONS.items() if not action.admin_only},
    ("delete", "/api/v1/jobs/{job_id}"): {"401", "403", "404", "409", "429", "503"},
    **{("post", f"/api/v1/types/{{type_code}}/{verb}"): {"401", "403", "404", "429", "503"}
       for verb in ("pause", "resume")},
}


@pytest.mark.parametrize(("method", "path"), ERRORS)
def test_each_operation_documents_the_errors_it_gives(method, path):
    documented = {s for s in _statuses(path, method) if s.startswith(("4", "5"))}
    assert documented == ERRORS[method, path]


def test_the_rate_limits_answer_says_when_to_call_again():
    too_many = SPEC["paths"]["/api/v1/jobs"]["get"]["responses"]["429"]
    assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer"
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    assert "Retry-After" not in response.get("headers", {}), (method, path)


def test_the_state_filter_lists_every_state_the_server_takes(app, api):
    listed = next(p["schema"]["enum"] for p in SPEC["paths"]["/api/v1/jobs"]["get"]["parameters"]
                  if p["name"] == "state")
    assert listed == [s.value for s in FILTER_STATES] and "scheduled" in listed
    for state in listed:
        assert api("viewer").get(f"/api/v1/jobs?state={state}").status_code == 200, state
    assert api("viewer").get("/api/v1/jobs?state=sleeping").status_code == 400


def test_relation_id_has_one_type_in_requests_and_answers():
    schemas = SPEC["components"]["schemas"]
    sent = schemas["NewJob"]["properties"]["relation_id"]["anyOf"]
    assert [s["type"] for s in sent] == ["string", "null"]
    for answer in ("Job", "JobSummary", "JobCreated"):
        assert schemas[answer]["properties"]["relation_id"]["type"] == ["string", "null"]


def test_success_answers_carry_no_retry_after_and_429_does(app, api):
    client = api("operator")
    assert "Retry-After" not in client.get("/api/v1/jobs").headers
    created = client.post("/api/v1/jobs", job_body(("test_echo", {})))
    assert created.status_code == 201 and "Retry-After" not in created.headers
    assert "X-RateLimit-Remaining" in created.headers
    app.config["API_RATE_LIMIT"] = "1 per minute"
    client.get("/api/v1/jobs")
    refused = client.get("/api/v1/jobs")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


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
