"""The bodies the API reads, as pydantic models: one source for checking them and for
their schemas in the OpenAPI description (``schemas.py`` takes them from here).

Every check calls the queue core's own validator, so a body is refused for what
``JobBuilder`` would refuse, in the core's words; the declared types and bounds are what
the description tells clients (and what schemathesis generates input from).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ..queue import registry
from ..queue.jobs.builder import (
    MAX_RELATION_ID_LENGTH,
    MAX_SOURCE_ID_LENGTH,
    MAX_STORE_ID,
    MIN_STORE_ID,
    validate_relation_id,
    validate_source_id,
    validate_store_id,
)
from ..queue.jobs.payload import dump_json, shape
from ..queue.jobs.scheduling import (
    MAX_DELAY,
    MAX_PRIORITY,
    MAX_UNIQUE_KEY_LENGTH,
    MIN_PRIORITY,
    parse_run_at,
    validate_delay,
    validate_priority,
    validate_unique_key,
)
from ..queue.jobs.types import MAX_TYPE_CODE_LENGTH, validate_type_code

MAX_REQUESTS = 1000
#: Jobs in one ``POST /api/v1/jobs/batch``, at most.
MAX_BATCH = 1000
#: Deeper payloads are refused: nothing real nests this far, and every reader of the
#: payload (masking, the pages, request types) walks it recursively.
MAX_DEPTH = 64
#: The validation context's flag: the body as a whole nests no deeper than MAX_DEPTH, so
#: no payload in it needs measuring.
SHALLOW = "shallow"
#: Characters a database can't store or a terminal would act on (``check_text``).
NO_CONTROLS = "\\u0000-\\u001f\\u007f"


def _whole(value: Any) -> Any:
    """3.0 is the integer 3 in JSON (and in JSON Schema), not a float to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _text(value: Any, example: str) -> Any:
    """A string or null, one type in and out of the API (the core also takes integers)."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"must be a string ({example}) or null")
    return value


def _type_code(value: object) -> str:
    type_code = validate_type_code(value)
    if type_code not in registry:
        raise ValueError(f"no request type has the code {type_code!r}")
    return type_code


def _payload(value: Any, info: ValidationInfo) -> Any:
    text = dump_json(value)  # refuses NaN and lone surrogates, which no database stores
    if (not (info.context or {}).get(SHALLOW)
            and shape(text.encode("utf-8"), MAX_DEPTH)[1] > MAX_DEPTH):
        raise ValueError(f"nests deeper than {MAX_DEPTH} levels")
    return value


#: RFC 3339's date-time, offset required (``datetime.fromisoformat`` takes more).
RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                      re.IGNORECASE | re.ASCII)


def _run_at(value: Any) -> datetime:
    if not isinstance(value, str) or not RFC_3339.fullmatch(value):
        raise ValueError("run_at must be an RFC 3339 time with its offset, e.g. "
                         "2026-03-01T09:30:00+01:00 or 2026-03-01T08:30:00Z")
    return parse_run_at(value.upper())


def _requests(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a list of at least one request")
    if len(value) > MAX_REQUESTS:
        raise ValueError(f"has {len(value)} requests; a job has at most {MAX_REQUESTS}")
    return value


def _jobs(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a list of at least one job")
    if len(value) > MAX_BATCH:
        raise ValueError(f"has {len(value)} jobs; a batch has at most {MAX_BATCH}")
    return value


#: Text without control characters; and with something besides spaces (``source_id``).
ANY_TEXT = f"^[^{NO_CONTROLS}]+$"
NOT_BLANK = f"^[^{NO_CONTROLS}]*\\S[^{NO_CONTROLS}]*$"
RelationText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_RELATION_ID_LENGTH,
                                                pattern=ANY_TEXT)]
SourceText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_ID_LENGTH,
                                              pattern=NOT_BLANK)]
UniqueKeyText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_UNIQUE_KEY_LENGTH,
                                                 pattern=ANY_TEXT)]


class _Schema(GenerateJsonSchema):
    """Schemas as the description writes them: no titles made up from field names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def json_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The models' JSON schemas by name, referring to each other as OpenAPI components."""
    _, found = models_json_schema([(m, "validation") for m in models],
                                  ref_template="#/components/schemas/{model}",
                                  schema_generator=_Schema)
    for schema in found["$defs"].values():
        schema.pop("title", None)
    return found["$defs"]


class NewRequest(BaseModel):
    """One request of a new job."""

    model_config = ConfigDict(extra="forbid")

    type_code: Annotated[
        str,
        BeforeValidator(_type_code),
        Field(min_length=1, max_length=MAX_TYPE_CODE_LENGTH,
              description="A code a request type of this installation has."),
    ]
    payload: Annotated[
        Any,
        AfterValidator(_payload),
        Field(description=f"Any JSON value, nested at most {MAX_DEPTH} levels."),
    ]


class NewJob(BaseModel):
    """The body of ``POST /api/v1/jobs``, and each job of a batch."""

    model_config = ConfigDict(extra="forbid")

    relation_id: Annotated[
        str | None,
        BeforeValidator(lambda v: validate_relation_id(_text(v, 'e.g. "42"')),
                        json_schema_input_type=RelationText | None),
        Field(description="The object the job acts on; jobs of one relation (and source) "
                          "run in order. A string, as answers give it back."),
    ] = None
    store_id: Annotated[
        Annotated[int, Field(ge=MIN_STORE_ID, le=MAX_STORE_ID)] | None,
        BeforeValidator(lambda v: validate_store_id(_whole(v))),
    ] = None
    source_id: Annotated[
        str,
        BeforeValidator(validate_source_id,
                        json_schema_input_type=SourceText),
    ] = "default"
    run_at: Annotated[
        datetime | None,
        BeforeValidator(lambda v: None if v is None else _run_at(v),
                        json_schema_input_type=Annotated[
                            str, WithJsonSchema({"type": "string", "format": "date-time"})]
                        | None),
        Field(description="The digest starts the job at this time at the earliest (RFC 3339, "
                          "with its offset). Not with delay_seconds."),
    ] = None
    delay_seconds: Annotated[
        Annotated[float, Field(ge=0, le=MAX_DELAY.total_seconds())] | None,
        Field(description="The digest starts the job this many seconds after it is saved, "
                          "at the earliest. Not with run_at."),
    ] = None
    unique_key: Annotated[
        UniqueKeyText | None,
        BeforeValidator(lambda v: None if v is None else validate_unique_key(v)),
        Field(description="While an active job (any state but completed or cancelled) of "
                          "the same source_id has this key, nothing is enqueued and the "
                          "answer is that job."),
    ] = None
    priority: Annotated[
        Annotated[int, Field(ge=MIN_PRIORITY, le=MAX_PRIORITY)],
        BeforeValidator(lambda v: validate_priority(_whole(v))),
        Field(description="Higher first among due jobs; order within a relation still wins."),
    ] = 0
    requests: Annotated[
        list[NewRequest],
        BeforeValidator(_requests),
        Field(min_length=1, max_length=MAX_REQUESTS,
              description="Run in this order; an identical request (same type and payload) "
                          "is dropped."),
    ]


    @field_validator("delay_seconds", mode="before")
    @classmethod
    def _delay(cls, value: Any, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        if info.data.get("run_at") is not None:
            raise ValueError("give run_at or delay_seconds, not both")
        return validate_delay(value)


class NewBatch(BaseModel):
    """The body of ``POST /api/v1/jobs/batch``: saved all together or not at all."""

    model_config = ConfigDict(extra="forbid")

    jobs: Annotated[
        list[NewJob],
        BeforeValidator(_jobs),
        Field(min_length=1, max_length=MAX_BATCH,
              description=f"Up to {MAX_BATCH:,} jobs, each as ``POST /api/v1/jobs`` takes "
                          "it; their ids are answered in this order."),
    ]
