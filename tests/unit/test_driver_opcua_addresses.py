"""OPC UA tag addresses: parsing both forms, resolving namespace URIs, quality of status codes."""

from __future__ import annotations

import pytest
from asyncua import ua

from runtime.contracts.messages import Quality
from runtime.drivers.opcua import node_id_text, quality_of, resolve_address, split_address

NAMESPACES = ["http://opcfoundation.org/UA/", "urn:server", "urn:lineside:sim"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ns=2;s=P101.Vibration", ua.NodeId("P101.Vibration", 2)),
        ("nsu=urn:lineside:sim;s=P101.Vibration", ua.NodeId("P101.Vibration", 2)),
        ("nsu=urn:lineside:sim;i=1001", ua.NodeId(1001, 2)),
        ("i=2258", ua.NodeId(2258, 0)),
        ("ns=2;s=A;B", ua.NodeId("A;B", 2)),
    ],
)
def test_addresses_resolve_to_node_ids(address, expected):
    assert resolve_address(address, NAMESPACES) == expected


@pytest.mark.parametrize(
    "address", ["P101.Flow", "", "nsu=urn:x", "nsu=urn:x;ns=2;s=A", "ns=x;s=A"]
)
def test_malformed_addresses_are_refused(address):
    with pytest.raises(ValueError, match="is not an OPC UA node id"):
        split_address(address)


def test_an_unknown_namespace_uri_says_so():
    with pytest.raises(ValueError, match="the server has no namespace 'urn:other'"):
        resolve_address("nsu=urn:other;s=X", NAMESPACES)


def test_node_ids_print_with_their_namespace_uri():
    assert node_id_text(ua.NodeId("P101.Flow", 2), NAMESPACES) == "nsu=urn:lineside:sim;s=P101.Flow"
    assert node_id_text(ua.NodeId(85, 0), NAMESPACES) == "i=85"
    assert node_id_text(ua.NodeId(7, 9), NAMESPACES) == "ns=9;i=7"


def test_status_codes_map_to_quality():
    assert quality_of(ua.StatusCode(ua.StatusCodes.Good)) == Quality.GOOD
    assert quality_of(ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)) == Quality.UNCERTAIN
    assert quality_of(ua.StatusCode(ua.StatusCodes.BadSensorFailure)) == Quality.BAD
    assert quality_of(None) == Quality.GOOD
