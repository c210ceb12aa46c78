import pytest

from dashboard.masking import MASK, mask


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
