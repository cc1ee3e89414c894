"""The Mosquitto fixture itself: real clients connect, authenticate, use TLS, see restarts."""

from __future__ import annotations

import ssl

import aiomqtt
import pytest

from tests.fixtures.broker import Mosquitto, MosquittoFactory


async def _roundtrip(client: aiomqtt.Client) -> bytes:
    await client.subscribe("probe/#", qos=1)
    await client.publish("probe/x", b"hello", qos=1)
    async for message in client.messages:
        return bytes(message.payload)
    raise AssertionError("no message")


async def test_anonymous_broker_delivers_and_restarts_on_the_same_port(mosquitto: Mosquitto):
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, timeout=5) as client:
        assert await _roundtrip(client) == b"hello"
    port = mosquitto.port
    mosquitto.stop()
    assert not mosquitto.running
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(mosquitto.host, mosquitto.port, timeout=5):
            pass
    mosquitto.start()
    assert mosquitto.port == port and mosquitto.running
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, timeout=5) as client:
        assert await _roundtrip(client) == b"hello"


async def test_password_broker_refuses_a_wrong_password(mosquitto_factory: MosquittoFactory):
    broker = mosquitto_factory(username="edge", password="s3cret")
    async with aiomqtt.Client(
        broker.host, broker.port, username="edge", password="s3cret", timeout=5
    ) as client:
        assert await _roundtrip(client) == b"hello"
    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        async with aiomqtt.Client(
            broker.host, broker.port, username="edge", password="wrong", timeout=5
        ):
            pass
    assert "not authori" in str(refused.value).lower()


async def test_tls_broker_accepts_clients_trusting_its_ca(mosquitto_factory: MosquittoFactory):
    broker = mosquitto_factory(tls=True)
    assert broker.ca_file is not None
    params = aiomqtt.TLSParameters(ca_certs=str(broker.ca_file), cert_reqs=ssl.CERT_REQUIRED)
    async with aiomqtt.Client(broker.host, broker.port, tls_params=params, timeout=5) as client:
        assert await _roundtrip(client) == b"hello"
