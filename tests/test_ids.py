from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import BadUserInput
from gateway.ids import decode_id, encode_id

TYPE_NAMES = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20)


@given(type_name=TYPE_NAMES, key=st.uuids())
def test_a_global_id_is_unpadded_url_safe_base64_of_type_and_key(type_name: str, key: uuid.UUID) -> None:
    expected = base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode().rstrip("=")
    assert encode_id(type_name, key) == expected
    assert not set(expected) & set("=+/")


@given(type_name=TYPE_NAMES, key=st.uuids())
def test_a_global_id_decodes_to_its_type_and_key(type_name: str, key: uuid.UUID) -> None:
    assert decode_id(encode_id(type_name, key)) == (type_name, key)


def test_a_global_id_of_another_type_is_refused() -> None:
    with pytest.raises(BadUserInput, match="is the id of a Team, expected Agent"):
        decode_id(encode_id("Team", uuid.uuid4()), "Agent")
