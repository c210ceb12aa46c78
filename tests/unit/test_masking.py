import json

import pytest

from dashboard.masking import MASK, Masker, mask


@pytest.mark.parametrize(("payload", "shown"), [
    # Keys holding password, token, secret or api_key, whatever their case and separators.
    ({"password": "p", "user": "u"}, {"password": MASK, "user": "u"}),
    ({"db_password": "p", "accessToken": "t", "client-secret": "s"},
     {"db_password": MASK, "accessToken": MASK, "client-secret": MASK}),
    ({"apiKey": "k", "X-API-KEY": "k", "api_key_id": "k"},
     {"apiKey": MASK, "X-API-KEY": MASK, "api_key_id": MASK}),
    # At any depth, in lists too; a secret's whole value goes, even a dict.
    ({"auth": {"token": "t", "scope": "r"}, "items": [{"secret": 1}]},
     {"auth": {"token": MASK, "scope": "r"}, "items": [{"secret": MASK}]}),
    ({"credentials": {"password": "p"}, "token": {"a": 1}},
     {"credentials": {"password": MASK}, "token": MASK}),
    # Not a dict: nothing to mask.
    ([1, "password"], [1, "password"]),
    ("password", "password"),
    (None, None),
])
def test_mask(payload, shown):
    assert mask(payload) == shown


def test_mask_leaves_the_original_alone_and_takes_other_keys():
    payload = {"pin": "1234", "password": "p"}
    assert mask(payload, keys=["pin"]) == {"pin": MASK, "password": "p"}
    assert payload == {"pin": "1234", "password": "p"}

masker = Masker(["password", "token", "secret", "api_key"])


@pytest.mark.parametrize(("key", "secret"), [
    ("password", True),
    ("db_password", True),         # contains a word
    ("PASSWORD", True),            # any case
    ("accessToken", True),
    ("X-Api-Key", True),           # separators ignored
    ("apikey", True),
    ("client_secret", True),
    ("customer_id", False),
    ("passport", False),
    ("tokens_used", True),         # contains "token": masked rather than leaked
])
def test_secret_keys(key, secret):
    assert masker.is_secret(key) is secret


def test_masks_nested_values_and_lists_but_keeps_null():
    value = {"a": [{"password": "x"}, {"b": {"Secret": 1}}], "token": None, "n": 1}
    assert masker.mask(value) == {"a": [{"password": MASK}, {"b": {"Secret": MASK}}],
                                  "token": None, "n": 1}


def test_a_secret_holding_an_object_is_masked_whole():
    assert masker.mask({"api_key": {"id": 1, "value": "k"}}) == {"api_key": MASK}


def test_pretty_keeps_text_as_it_is_for_the_template_to_escape():
    text = masker.pretty(json.dumps({"html": "<script>x</script>", "é": "ü"}))
    assert '"html": "<script>x</script>"' in text and '"é": "ü"' in text
    assert "\\u003c" not in text
    assert masker.pretty("not json <b>") == "not json <b>"
    assert masker.pretty(None) == ""


def test_configured_words_replace_the_defaults():
    assert Masker(["pin"]).mask({"pin": 1234, "password": "x"}) == {"pin": MASK, "password": "x"}
