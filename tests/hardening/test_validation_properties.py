"""Property tests of the input validators: arbitrary input is either accepted or InvalidArgument.

Whatever a validator accepts must also be storable: valid UTF-8 text within its byte limit, and JSON
that the canonical encoder can write back.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions.engine import limits, paging, validation
from llmspell_sessions.errors import InvalidArgument

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
any_text = st.text(alphabet=st.characters(codec=None), max_size=300)  # surrogates and controls included
short_text = st.text(alphabet=st.characters(codec=None), max_size=80)
utf8_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)  # what protobuf can deliver
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | any_text | st.binary(max_size=20)
json_like = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text | st.integers(), inner, max_size=4),
    max_leaves=30,
)


def accepts(check: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) when the validator accepts, (False, error) when it raises InvalidArgument."""
    try:
        return True, check(*args, **kwargs)
    except InvalidArgument as error:
        assert error.code == "INVALID_ARGUMENT" and error.message
        return False, error


def storable_text(value: str, max_bytes: int) -> None:
    encoded = value.encode("utf-8")  # a lone surrogate here would fail every later write
    assert len(encoded) <= max_bytes


@PROPS
@given(any_text)
def test_names(value: str) -> None:
    ok, result = accepts(validation.name, value, required=True)
    if ok:
        assert result == value and value
        storable_text(value, limits.MAX_NAME_BYTES)
        assert "\x00" not in value and not validation._CONTROL.search(value)


@PROPS
@given(st.text(alphabet=st.characters(codec=None), max_size=20_000))
def test_descriptions(value: str) -> None:
    ok, _ = accepts(validation.description, value)
    if ok:
        storable_text(value, limits.MAX_DESCRIPTION_BYTES)
        assert "\x00" not in value


@PROPS
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=70), max_size=70))
def test_tags(values: list[str]) -> None:
    ok, result = accepts(validation.tags, values)
    if ok:
        assert len(result) <= limits.MAX_TAGS and set(result) == set(values)
        for tag in result:
            assert 0 < len(tag) <= limits.MAX_TAG_CHARS
            tag.encode("utf-8")  # tags are stored in JSON records and index keys


@PROPS
@given(json_like)
def test_state_values_and_metadata(value: Any) -> None:
    ok, encoded = accepts(validation.json_value, value, "state value", limits.MAX_STATE_VALUE_BYTES)
    if ok:
        assert orjson.loads(encoded) is not None or value is None
    ok, result = accepts(validation.metadata, {"k": value})
    if ok:
        orjson.dumps(result)


@PROPS
@given(st.dictionaries(any_text, json_like, max_size=5) | st.none())
def test_metadata_mappings(value: dict[str, Any] | None) -> None:
    ok, result = accepts(validation.metadata, value)
    if ok:
        assert len(orjson.dumps(result)) <= limits.MAX_METADATA_BYTES or not result


@PROPS
@given(any_text)
def test_state_keys(value: str) -> None:
    ok, _ = accepts(validation.state_key, value)
    if ok:
        assert value
        storable_text(value, limits.MAX_STATE_KEY_BYTES)


@PROPS
@given(any_text | st.uuids().map(str))
def test_ids(value: str) -> None:
    ok, _ = accepts(validation.session_id, value)
    if ok:
        assert len(value) == 36 and value == value.lower()
    ok, _ = accepts(validation.optional_session_id, value, "parent_session_id")
    if ok and value:
        assert len(value) == 36


@PROPS
@given(utf8_text)
def test_request_ids_and_tenants(value: str) -> None:
    ok, _ = accepts(validation.request_id, value)
    if ok:
        assert len(value) <= limits.MAX_REQUEST_ID_CHARS
        value.encode("utf-8")  # request ids are index keys
    ok, _ = accepts(validation.tenant, value)
    if ok:
        assert value.isascii() and 0 < len(value) <= 64


@PROPS
@given(st.integers(min_value=-(2**63), max_value=2**63))
def test_page_sizes(value: int) -> None:
    ok, result = accepts(validation.page_size, value)
    assert ok == (value >= 0)
    if ok:
        assert 1 <= result <= limits.MAX_PAGE_SIZE


@PROPS
@given(
    any_text
    | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    | st.builds(paging.encode_token, st.binary(max_size=40), st.integers(-(2**63), 2**63 - 1), utf8_text)
)
def test_page_tokens(token: str) -> None:
    ok, result = accepts(paging.decode_token, token, "fingerprint")
    if ok:
        last_key, total = result
        assert isinstance(last_key, bytes) and isinstance(total, int)


@PROPS
@given(st.binary(max_size=40), st.integers(0, 2**40))
def test_page_tokens_round_trip(last_key: bytes, total: int) -> None:
    fingerprint = paging.query_fingerprint({"q": 1})
    assert paging.decode_token(paging.encode_token(last_key, total, fingerprint), fingerprint) == (last_key, total)


@pytest.mark.parametrize("check", [validation.tags, validation.request_id])
def test_lone_surrogates_are_rejected(check: Any) -> None:
    value = ["\ud800"] if check is validation.tags else "\ud800"
    ok, _ = accepts(check, value)
    assert not ok
