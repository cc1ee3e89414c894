"""One list of OPC UA security policies: the schema, validation and the driver offer the
same ones, and the driver has asyncua's class for each."""

from __future__ import annotations

import pytest

from runtime.contracts.errors import DriverError
from runtime.contracts.project import SECURITY_POLICIES, OpcUaConnection, Security
from runtime.contracts.validation import validate_project
from runtime.drivers.opcua import OpcUaHub, security_policy_class

LISTED = ", ".join(SECURITY_POLICIES)


def problems(policy: str) -> list[tuple[str, str]]:
    security = {"policy": policy, "mode": "SignAndEncrypt", "certificate": "client.der",
                "private_key": "client.pem"}
    doc = {"schema": "lineside.project/1", "tags": [], "flows": [], "connections": [
        {"id": "plc", "kind": "opcua", "endpoint": "opc.tcp://plc:4840", "security": security}]}
    return [(p.path, p.message) for p in validate_project(doc, {})]


def hub(policy: str) -> OpcUaHub:
    security = Security(policy=policy, mode="SignAndEncrypt", certificate="client.der",
                        private_key="client.pem")
    return OpcUaHub(OpcUaConnection("plc", "opc.tcp://plc:4840", security=security), [], print)


@pytest.mark.parametrize("policy", SECURITY_POLICIES)
def test_every_listed_policy_is_valid_and_the_driver_has_its_class(policy):
    assert problems(policy) == []
    hub(policy)
    uri = security_policy_class(policy).URI
    assert uri.replace("_", "").endswith(f"#{policy}")


@pytest.mark.parametrize("policy", ["Basic128Rsa15", "Basic256", "Aes256"])
def test_a_policy_not_listed_is_refused_by_validation_and_the_driver(policy):
    assert problems(policy) == [("$.connections[0].security.policy",
                                 f"must be one of {LISTED}; found '{policy}'")]
    with pytest.raises(DriverError) as refused:
        hub(policy)
    assert str(refused.value) == (f"connection plc: security policy '{policy}' is not "
                                  f"supported (use one of {LISTED})")
