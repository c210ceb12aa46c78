"""MkDocs hooks: pages made from the code, so the docs can't drift from it.

- ``{{ variables }}`` becomes the configuration reference, from ``dashboard/app/variables.py``;
- ``{{ openapi }}`` becomes the HTTP API's reference, from the OpenAPI document the server
  serves (``dashboard/api/openapi.py``);
- ``{{ changelog }}`` becomes ``CHANGELOG.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def on_page_markdown(markdown: str, **_: Any) -> str:
    if "{{ variables }}" in markdown:
        markdown = markdown.replace("{{ variables }}", variables_reference())
    if "{{ openapi }}" in markdown:
        markdown = markdown.replace("{{ openapi }}", api_reference())
    if "{{ changelog }}" in markdown:
        changelog = (ROOT / "CHANGELOG.md").read_text()
        markdown = markdown.replace("{{ changelog }}", changelog.split("\n", 1)[1])
    return markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def variables_reference() -> str:
    from dashboard.app.variables import VARIABLES

    out: list[str] = []
    group = None
    for variable in VARIABLES:
        if variable.group != group:
            group = variable.group
            out += ["", f"## {group}", "", "| variable | default | what it does | read by |",
                    "|---|---|---|---|"]
        out.append(f"| `{variable.name}` | {_cell(variable.default)} | "
                   f"{_cell(variable.meaning)} | {', '.join(variable.read_by)} |")
    return "\n".join(out) + "\n"


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema or "oneOf" in schema:
        return " or ".join(_type(s) for s in schema.get("anyOf") or schema["oneOf"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    return kind


def api_reference() -> str:
    from dashboard.api.openapi import description

    spec = description([])
    out: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            out += ["", f"### `{method.upper()} {path}`", ""]
            if operation.get("summary"):
                out += [operation["summary"], ""]
            if operation.get("description"):
                out += [operation["description"], ""]
            parameters = operation.get("parameters", [])
            if parameters:
                out += ["| parameter | in | type | |", "|---|---|---|---|"]
                for parameter in parameters:
                    out.append(f"| `{parameter['name']}` | {parameter['in']} | "
                               f"{_cell(_type(parameter.get('schema', {})))} | "
                               f"{_cell(parameter.get('description', ''))} |")
                out.append("")
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                out += [f"Body ({media}): {_type(content.get('schema', {}))}", ""]
            out += ["| answer | |", "|---|---|"]
            for code, answer in operation.get("responses", {}).items():
                out.append(f"| {code} | {_cell(answer.get('description', ''))} |")
            out.append("")
    out += ["", "## Schemas"]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        out += ["", f"### {name}", ""]
        if schema.get("description"):
            out += [schema["description"], ""]
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            out += ["| field | type | required | |", "|---|---|---|---|"]
            for field, spec_ in properties.items():
                out.append(f"| `{field}` | {_cell(_type(spec_))} | "
                           f"{'yes' if field in required else ''} | "
                           f"{_cell(spec_.get('description', ''))} |")
        else:
            out.append(_cell(_type(schema)))
    return "\n".join(out) + "\n"
