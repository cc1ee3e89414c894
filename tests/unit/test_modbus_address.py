"""The Modbus address grammar is written once: validation and the driver accept the same
addresses and say the same thing about the ones they refuse."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from runtime.contracts.errors import AddressError
from runtime.contracts.modbus_address import parse_address
from runtime.contracts.project import TAG_TYPES, Tag
from runtime.contracts.validation import validate_project
from runtime.drivers.modbus_blocks import check_tags

ADDRESSES = st.one_of(
    st.from_regex(r"\s?(hr|ir|coil|di|HR|Coil|Di|xr|)(:?)[0-9]{0,6}\s?", fullmatch=True),
    st.sampled_from(["hr:65535", "hr:65534", "hr:65532", "coil:65535", "hr:00001",
                     "hr:" + "9" * 5000, "hr:\u0661\u0662", " COIL:12 ", "hr:-1", "40001"]),
    st.text(max_size=12),
)


def validation_messages(address: str, tag_type: str, writable: bool = False) -> list[str]:
    tag = {"id": "t", "connection": "vfd", "address": address, "type": tag_type}
    if writable:
        tag.update(writable=True, envelope={"min": 0, "max": 1})
    doc = {"schema": "lineside.project/1", "flows": [], "tags": [tag],
           "connections": [{"id": "vfd", "kind": "modbus", "host": "127.0.0.1"}]}
    return [p.message for p in validate_project(doc, {})]


@settings(max_examples=400, deadline=None)
@given(address=ADDRESSES, tag_type=st.sampled_from(TAG_TYPES))
def test_validation_and_the_driver_agree_on_every_address(address, tag_type):
    assume(address)  # the schema refuses an empty address before the grammar is asked
    driver = check_tags([Tag("t", "vfd", address, tag_type)])
    prefix = f"tag t ({address}): "
    assert [m.removeprefix(prefix) for m in driver] == validation_messages(address, tag_type)


@pytest.mark.parametrize("text,area,index", [
    ("hr:0", "hr", 0), (" COIL:12 ", "coil", 12), ("di:00007", "di", 7), ("ir:65535", "ir", 65535)])
def test_addresses_parse(text, area, index):
    address = parse_address(text)
    assert (address.area, address.index, str(address)) == (area, index, f"{area}:{index}")


@pytest.mark.parametrize("text,message", [
    ("40001", "address '40001' is not a Modbus address: use hr:N, ir:N, coil:N or di:N "
              "(N from 0 to 65535)"),
    ("hr:-1", "address 'hr:-1' is not a Modbus address: use hr:N, ir:N, coil:N or di:N "
              "(N from 0 to 65535)"),
    ("hr:\u0661", "address 'hr:\u0661' is not a Modbus address: use hr:N, ir:N, coil:N or di:N "
                  "(N from 0 to 65535)"),
    ("hr:65536", "address 'hr:65536' is beyond the last Modbus address 65535"),
    ("hr:" + "9" * 5000, f"address {'hr:' + '9' * 5000!r} is beyond the last Modbus address "
                         "65535"),
])
def test_bad_addresses_say_why(text, message):
    with pytest.raises(AddressError) as refused:
        parse_address(text)
    assert (str(refused.value), refused.value.field) == (message, "address")


@pytest.mark.parametrize("text,tag_type,message,field", [
    ("coil:0", "float32", "coils hold bools, not float32", "type"),
    ("hr:0", "bool", "a bool must be a coil or a discrete input, not a register", "type"),
    ("ir:1", "string", "type 'string' can't be stored in registers (use one of int16, uint16, "
                       "int32, uint32, float32, float64)", "type"),
    ("hr:65535", "float32", "float32 at hr:65535 runs past the last register 65535", "address"),
])
def test_a_type_that_does_not_fit_says_why(text, tag_type, message, field):
    with pytest.raises(AddressError) as refused:
        parse_address(text).width(tag_type)
    assert (str(refused.value), refused.value.field) == (message, field)


def test_widths_and_writable_areas():
    assert [parse_address("hr:65532").width(t) for t in ("int16", "int32", "float64")] == [
        1, 2, 4]
    assert parse_address("di:3").width("bool") == 1
    assert [parse_address(f"{a}:0").is_writable for a in ("hr", "ir", "coil", "di")] == [
        True, False, True, False]
    with pytest.raises(AddressError, match="ir:3 is a read-only input register; only holding "
                                           r"registers \(hr\) and coils can be written"):
        parse_address("ir:3").check_writable()
    assert validation_messages("di:3", "bool", writable=True) == [
        "di:3 is a read-only discrete input; only holding registers (hr) and coils can be "
        "written"]
