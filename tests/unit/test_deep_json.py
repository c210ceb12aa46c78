"""A value nested deeper than MAX_DEPTH is refused when stored, and one stored anyway (by
an older release, or by hand) is shown as a note, never as a 500."""

import json

import pytest

from dashboard.queue import JobBuilder
from dashboard.queue.jobs.masking import Masker
from dashboard.queue.jobs.payload import MAX_DEPTH, dump_json, shape


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(("text", "values", "levels"), [
    ("1", 1, 0),
    ('"x"', 1, 0),
    ("[]", 1, 1),
    ("{}", 1, 1),
    ("[1, 2]", 3, 1),
    ('{"a": [1, {"b": []}]}', 5, 4),  # the object, the list, 1, {...}, []
    ("[ [ ] ,\n[ ] ]", 3, 2),  # spaces change nothing
    ('["a,[{\\"", {"]}": ","}]', 4, 2),  # brackets and commas in strings are text
    ('"\\\\"', 1, 0),  # an escaped backslash ends before the quote
    ("[" + ",".join(["[]"] * 1000) + "]", 1001, 2),
])
def test_shape_counts_values_and_depth_on_the_text(text, values, levels):
    assert shape(text.encode(), 100) == (values, levels)


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "[" * 5000,
                                  "[[],[[],[[],[[]" * 40 + "]]]" * 40])
def test_shape_counts_depth_only_up_to_one_past_the_limit(text):
    assert shape(text.encode(), 64)[1] == 65


def test_shape_past_the_values_limit_stops_counting_depth():
    wide = "[" + ",".join(["[[]]"] * 200) + "]"
    assert shape(wide.encode(), 64) == (401, 3)
    assert shape(wide.encode(), 64, max_values=400) == (401, 0)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 5_000])
def test_a_payload_nested_too_deeply_is_refused_with_a_clear_message(levels):
    builder = JobBuilder().create().request_builder().set_type_code("test_echo")
    with pytest.raises(ValueError, match=f"the payload is nested deeper than {MAX_DEPTH} levels"):
        builder.set_payload({"a": nested(levels)})


def test_a_payload_at_the_limit_is_taken():
    assert json.loads(dump_json(nested(MAX_DEPTH))) == nested(MAX_DEPTH)


@pytest.mark.parametrize("levels", [600, 990, 5_000])
def test_a_deep_value_stored_anyway_is_shown_as_a_note(levels):
    masker = Masker(("password",))
    text = "[" * levels + "]" * levels
    secrets = masker.secrets_of_json(text)
    assert masker.pretty(text, secrets) == (
        f"(JSON nested too deeply to show: {2 * levels:,} characters)")


def test_a_deep_value_with_a_secret_does_not_show_the_secret():
    masker = Masker(("password",))
    text = '{"password": "hunter2-secret", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    assert "hunter2" not in masker.pretty(text, masker.secrets_of_json(text))
