import json

import pytest

from dashboard.queue.jobs.masking import MASK, Masker, mask
from dashboard.queue.jobs.payload import dump_json


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


def test_secrets_are_the_values_under_secret_keys_at_any_depth():
    masker = Masker(["password", "token"])
    value = {"user": "ann", "password": "pw-123", "auth": {"token": {"id": 4242, "v": "t-9xy"}},
             "items": [{"password": True}, {"password": "ab"}]}
    # Booleans and values shorter than three characters are not hunted for in texts.
    assert masker.secrets(value) == {"pw-123", "4242", "t-9xy"}


@pytest.mark.parametrize(("text", "shown"), [
    ("refused: pw-123", f"refused: {MASK}"),
    ("refused: PW-123", f"refused: {MASK}"),  # searches ignore case: so does hiding
    ("{'password': 'pw\\x01x'}", f"{{'password': '{MASK}'}}"),  # as repr() writes it
    ('{"password": "say \\"hi\\""}', f'{{"password": "{MASK}"}}'),  # as JSON writes it
    ("nothing secret", "nothing secret"),
])
def test_hide_replaces_every_spelling_of_a_secret(text, shown):
    from dashboard.queue.jobs.masking import hide

    assert hide(text, {"pw-123", "pw\x01x", 'say "hi"'}) == shown


def test_the_search_copy_masks_secret_keys_and_their_values_elsewhere():
    masker = Masker(["password"])
    copy = masker.searchable(json.dumps({"password": "pw-123", "note": "was pw-123"}))
    assert json.loads(copy) == {"password": MASK, "note": f"was {MASK}"}


@pytest.mark.parametrize("payload", [
    {"password": "pw-123", "note": "was pw-123"},
    {"list": [{"n": 1}, {"user": {"Api-Key": "k-456"}}]},
])
def test_a_dumped_payload_with_a_secret_key_is_masked_as_ever(payload):
    masker = Masker(["password", "api_key"])
    text = dump_json(payload)
    assert masker.searchable(text, value=payload) == masker.searchable(text)
    assert MASK in masker.searchable(text, value=payload)


def test_a_dumped_payload_without_a_secret_key_is_its_own_search_copy():
    masker = Masker(["password"])
    payload = {"n": [1, {"note": "the password is not a key"}], "zoë": 1.5}
    text = dump_json(payload)
    assert masker.searchable(text, value=payload) is text
    assert masker.searchable(text, value=payload) == masker.searchable(text)
    # Text written otherwise is written again, as ever.
    assert masker.searchable('{"n":  1}') == '{"n": 1}'


def test_the_request_types_logger_hides_secrets(caplog):
    import logging

    from dashboard.queue.jobs.masking import HidingLogger

    logger = HidingLogger(logging.getLogger("dashboard.connector.test"), frozenset({"pw-123"}))
    with caplog.at_level(logging.INFO, logger="dashboard.connector.test"):
        logger.info("login with %s", "pw-123")
        try:
            raise RuntimeError("refused pw-123")
        except RuntimeError:
            logger.exception("failed")
    assert [r.getMessage().splitlines()[0] for r in caplog.records] == [
        f"login with {MASK}", "failed"]
    assert "pw-123" not in caplog.text
    assert f"RuntimeError: refused {MASK}" in caplog.text
