"""OPC UA hub: one session and one subscription per server endpoint, rebuilt on any loss.

asyncua does not bring a lost session back the way a plant needs it, so every reconnect makes
a fresh Client and a fresh subscription (initial values arrive again). A lost connection is
seen three ways: the client's own connection-lost notification (socket closed), a bad
subscription status, and a watchdog that reads the server's CurrentTime every watchdog_s with
a timeout (half-open sockets). All notifications of one publish response are delivered in one
on_samples call.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.crypto import security_policies, uacrypto
from cryptography import x509

from runtime.contracts.errors import DriverError
from runtime.contracts.messages import Quality, Sample
from runtime.contracts.project import SECURITY_POLICIES, OpcUaConnection, Security, Tag
from runtime.drivers.base import (
    Clock,
    ConnectionLost,
    OnSamples,
    OnStatus,
    SupervisedHub,
    describe,
    to_eng,
)
from runtime.supervision import Supervisor

log = logging.getLogger(__name__)

VARIANT_TYPES: dict[str, ua.VariantType] = {
    "bool": ua.VariantType.Boolean,
    "int16": ua.VariantType.Int16,
    "uint16": ua.VariantType.UInt16,
    "int32": ua.VariantType.Int32,
    "uint32": ua.VariantType.UInt32,
    "float32": ua.VariantType.Float,
    "float64": ua.VariantType.Double,
    "string": ua.VariantType.String,
}
TAG_TYPES_BY_DATA_TYPE = {vt.name: kind for kind, vt in VARIANT_TYPES.items()}
SECURITY_MODES = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
CURRENT_TIME = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
NAMESPACE_ARRAY = ua.NodeId(ua.ObjectIds.Server_NamespaceArray)  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
MAX_MONITORED_ITEMS_PER_CALL = ua.NodeId(
    ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
)
MAX_NODES_PER_READ = ua.NodeId(
    ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
)
OBJECTS_FOLDER = "i=85"
MONITOR_CHUNK = 200
HANDLE_BASE = 1 << 20
SESSION_TIMEOUT_MS = 30_000
KEEPALIVE_S = 5.0
APPLICATION_URI = "urn:lineside:runtime"


@dataclass(frozen=True, slots=True)
class BrowseEntry:
    """One node under a browsed node, for the tag editor.

    `node_id` is a stable address for Tag.address (namespace URI form outside namespace 0);
    `data_type` is the OPC UA data type name for variables, `tag_type` the matching Tag.type
    when there is one.
    """

    node_id: str
    browse_name: str
    display_name: str
    node_class: str
    data_type: str = ""
    tag_type: str = ""


def security_policy_class(policy: str) -> type[security_policies.SecurityPolicy]:
    """asyncua's class for a policy of SECURITY_POLICIES (its name without the prefix)."""
    return getattr(security_policies, f"SecurityPolicy{policy}")


def split_address(address: str) -> tuple[str | None, ua.NodeId]:
    """(namespace URI or None, node id) of `ns=2;s=X`, `nsu=urn:x;s=X`, `i=2258`, ...;
    with a URI the node id's namespace index is a placeholder. ValueError when malformed."""
    text = address.strip()
    uri = None
    if text.startswith("nsu="):
        uri, sep, text = text[4:].partition(";")
        if not sep or not uri or text.startswith("ns="):
            raise ValueError(f"{address!r} is not an OPC UA node id (nsu=<uri>;s=<name>)")
    try:
        node_id = ua.NodeId.from_string(text)
    except Exception:
        raise ValueError(
            f"{address!r} is not an OPC UA node id (e.g. ns=2;s=P101.Flow or nsu=<uri>;i=1001)"
        ) from None
    if isinstance(node_id, ua.ExpandedNodeId) and (node_id.NamespaceUri or node_id.ServerIndex):
        raise ValueError(f"{address!r} is not an OPC UA node id (one nsu= at the start only)")
    return uri, ua.NodeId(node_id.Identifier, node_id.NamespaceIndex, node_id.NodeIdType)


def resolve_address(address: str, namespaces: Sequence[str]) -> ua.NodeId:
    """The node id of an address on a server with this namespace array."""
    uri, node_id = split_address(address)
    if uri is None:
        return node_id
    try:
        index = list(namespaces).index(uri)
    except ValueError:
        raise ValueError(f"the server has no namespace {uri!r}") from None
    return ua.NodeId(node_id.Identifier, index, node_id.NodeIdType)  # type: ignore[arg-type]  # asyncua hints ua.Int16, takes int


def node_id_text(node_id: ua.NodeId, namespaces: Sequence[str]) -> str:
    """A node id as text, with the namespace URI rather than its index outside namespace 0."""
    plain = ua.NodeId(node_id.Identifier, node_id.NamespaceIndex, node_id.NodeIdType)
    index = plain.NamespaceIndex
    if index == 0 or index >= len(namespaces):
        return plain.to_string()
    local = ua.NodeId(plain.Identifier, 0, plain.NodeIdType).to_string()  # type: ignore[arg-type]  # asyncua hints ua.Int16, takes int
    return f"nsu={namespaces[index]};{local}"


def quality_of(status: ua.StatusCode | None) -> Quality:
    """Sample quality of an OPC UA status code."""
    if status is None or status.is_good():
        return Quality.GOOD
    if status.is_uncertain():
        return Quality.UNCERTAIN
    return Quality.BAD


def _epoch(ts: datetime | None) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    seconds = ts.timestamp()
    return seconds if seconds > 0 else None


def _application_uri(cert: x509.Certificate) -> str | None:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def new_client(conn: OpcUaConnection) -> Client:
    """An asyncua client for a connection (timeouts, identity, user), not yet connected and
    without security: `configure_security` adds that."""
    client = Client(
        conn.endpoint,
        timeout=conn.timeout_s,
        watchdog_intervall=max(10.0, 5 * conn.watchdog_s),
    )
    client.session_timeout = SESSION_TIMEOUT_MS
    client.name = client.description = "Lineside runtime"
    client.application_uri = APPLICATION_URI
    if conn.username:
        client.set_user(conn.username)
        client.set_password(conn.password)
    return client


async def configure_security(client: Client, security: Security) -> None:
    """Give a client the connection's security policy, mode and certificates (nothing for
    policy None); the application URI is taken from the client certificate."""
    if security.policy in ("", "None"):
        return
    policy = security_policy_class(security.policy)
    mode = SECURITY_MODES.get(security.mode, ua.MessageSecurityMode.SignAndEncrypt)
    cert = await uacrypto.load_certificate(security.certificate)
    client.application_uri = _application_uri(cert) or APPLICATION_URI
    await client.set_security(
        policy,
        certificate=security.certificate,
        private_key=security.private_key,
        server_certificate=security.server_certificate or None,
        mode=mode,
    )


class OpcUaHub(SupervisedHub):
    """One OPC UA server: a subscription for every tag, reads, writes and browsing."""

    kind = "opcua"

    def __init__(
        self,
        connection: OpcUaConnection,
        tags: Sequence[Tag],
        on_samples: OnSamples,
        on_status: OnStatus | None = None,
        clock: Clock = time.time,
        supervisor: Supervisor | None = None,
    ) -> None:
        super().__init__(connection, tags, on_samples, on_status, clock, supervisor)
        problems = []
        for tag in self._tags.values():
            try:
                split_address(tag.address)
            except ValueError as exc:
                problems.append(f"tag {tag.id}: {exc}")
            if tag.type not in VARIANT_TYPES:
                problems.append(f"tag {tag.id}: type {tag.type!r} is not supported over OPC UA")
        security = connection.security
        if security.policy not in ("", "None"):
            if security.policy not in SECURITY_POLICIES:
                problems.append(
                    f"security policy {security.policy!r} is not supported (use one of "
                    f"{', '.join(SECURITY_POLICIES)})"
                )
            if security.mode not in ("", "None", *SECURITY_MODES):
                problems.append(f"security mode {security.mode!r} must be Sign or SignAndEncrypt")
            if not security.certificate or not security.private_key:
                problems.append(
                    f"security policy {security.policy} needs a client certificate and private key"
                )
        if problems:
            raise DriverError(f"connection {connection.id}: " + "; ".join(problems))
        self._client: Client | None = None
        self._namespaces: list[str] = []
        self._node_ids: dict[str, ua.NodeId] = {}
        self._unresolved: dict[str, str] = {}
        self._handles: dict[int, Tag] = {}
        self._pending: list[Sample] = []
        self._flush_scheduled = False
        self._orphan: tuple[Client, float] | None = None
        self._monitor_chunk = MONITOR_CHUNK
        self._read_chunk = 0

    @property
    def target(self) -> str:
        """The endpoint URL."""
        return self._connection.endpoint

    # ---------------------------------------------------------------- requests

    async def read(self, tag_ids: Sequence[str]) -> list[Sample]:
        """Read these tags now (one request unless the server limits nodes per read)."""
        tags = [self._tag(tag_id) for tag_id in tag_ids]
        client = self._require_connected("read", ", ".join(tag_ids), self._client)
        wanted = [t for t in tags if t.id in self._node_ids]
        chunk = self._read_chunk or len(wanted) or 1
        values: list[ua.DataValue] = []
        try:
            for start in range(0, len(wanted), chunk):
                params = ua.ReadParameters()
                params.TimestampsToReturn = ua.TimestampsToReturn.Both
                for tag in wanted[start : start + chunk]:
                    params.NodesToRead.append(
                        ua.ReadValueId(
                            NodeId=self._node_ids[tag.id], AttributeId=ua.AttributeIds.Value
                        )
                    )
                values.extend(await client.uaclient.read(params))
        except Exception as exc:
            raise DriverError(
                f"cannot read {', '.join(tag_ids)} from {self.target}: {describe(exc)}"
            ) from None
        by_id = {tag.id: self._sample(tag, dv) for tag, dv in zip(wanted, values, strict=True)}
        now = self._clock()
        return [by_id.get(t.id) or Sample(t.id, now, None, Quality.BAD) for t in tags]

    async def write(self, tag_id: str, value: Any) -> None:
        """Write an engineering value with the variant type of Tag.type (no timestamps)."""
        tag = self._tag(tag_id)
        raw = self._raw_for_write(tag, value)
        client = self._require_connected("write", tag_id, self._client)
        node_id = self._node_ids.get(tag_id)
        if node_id is None:
            raise DriverError(
                f"cannot write {tag_id}: {self._unresolved.get(tag_id, 'unknown node')}"
            )
        params = ua.WriteParameters()
        params.NodesToWrite.append(
            ua.WriteValue(
                NodeId=node_id,
                AttributeId=ua.AttributeIds.Value,
                Value=ua.DataValue(ua.Variant(raw, VARIANT_TYPES[tag.type]), StatusCode=None),
            )
        )
        try:
            (status,) = await client.uaclient.write(params)
        except Exception as exc:
            raise DriverError(f"write to {tag_id} failed: {describe(exc)}") from None
        if not status.is_good():
            raise DriverError(
                f"write to {tag_id} refused by the server: {status.name} ({status.doc})"
            )

    async def browse(self, node_id: str | None = None) -> list[BrowseEntry]:
        """The children of a node (the Objects folder by default), with data types of variables."""
        client = self._require_connected("browse", None, self._client)
        try:
            start = resolve_address(node_id or OBJECTS_FOLDER, self._namespaces)
        except ValueError as exc:
            raise DriverError(f"cannot browse: {exc}") from None
        try:
            refs = await self._browse_references(client, start)
            variables = [r for r in refs if r.NodeClass == ua.NodeClass.Variable]
            types: dict[int, str] = {}
            if variables:
                params = ua.ReadParameters()
                for ref in variables:
                    params.NodesToRead.append(
                        ua.ReadValueId(
                            NodeId=_plain(ref.NodeId), AttributeId=ua.AttributeIds.DataType
                        )
                    )
                for ref, dv in zip(variables, await client.uaclient.read(params), strict=True):
                    types[id(ref)] = self._type_name(dv)
        except Exception as exc:
            raise DriverError(f"cannot browse {node_id or 'Objects'}: {describe(exc)}") from None
        entries = []
        for ref in refs:
            data_type = types.get(id(ref), "")
            entries.append(
                BrowseEntry(
                    node_id=node_id_text(ref.NodeId, self._namespaces),
                    browse_name=ref.BrowseName.Name or "",
                    display_name=ref.DisplayName.Text or "",
                    node_class=ref.NodeClass.name,
                    data_type=data_type,
                    tag_type=TAG_TYPES_BY_DATA_TYPE.get(data_type, ""),
                )
            )
        return entries

    async def _browse_references(self, client: Client, node_id: ua.NodeId) -> list[Any]:
        desc = ua.BrowseDescription(
            NodeId=node_id,
            BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=ua.NodeId(ua.ObjectIds.HierarchicalReferences),  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
            IncludeSubtypes=True,
            ResultMask=ua.BrowseResultMask.All,
        )
        params = ua.BrowseParameters(View=ua.ViewDescription(), NodesToBrowse=[desc])
        (result,) = await client.uaclient.browse(params)
        result.StatusCode.check()
        refs = list(result.References)
        while result.ContinuationPoint:
            more = ua.BrowseNextParameters(ContinuationPoints=[result.ContinuationPoint])
            (result,) = await client.uaclient.session.browse_next(more)
            result.StatusCode.check()
            refs.extend(result.References)
        return refs

    def _type_name(self, dv: ua.DataValue) -> str:
        if dv.Value is None or not isinstance(dv.Value.Value, ua.NodeId):
            return ""
        type_id = dv.Value.Value
        if type_id.NamespaceIndex == 0 and isinstance(type_id.Identifier, int):
            return ua.ObjectIdNames.get(type_id.Identifier, type_id.to_string())
        return node_id_text(type_id, self._namespaces)

    # ---------------------------------------------------------------- session

    async def _run_session(self) -> None:
        conn: OpcUaConnection = self._connection
        client = new_client(conn)
        lost = asyncio.Event()
        reason = ["connection lost"]

        def signal_lost(text: str) -> None:
            if not lost.is_set():
                reason[0] = text
                lost.set()

        async def on_client_lost(exc: Exception) -> None:
            signal_lost(f"connection lost ({exc or type(exc).__name__})")

        client.connection_lost_callback = on_client_lost
        consumer: asyncio.Task[None] | None = None
        graceful = False
        try:
            await self._close_orphan()
            await configure_security(client, conn.security)
            await asyncio.wait_for(client.connect(), 2 * conn.timeout_s)
            await self._resolve_nodes(client)
            subscription = await client.create_subscription(
                self._subscription_parameters(),
                handler=None,
                queue_maxsize=max(1000, 4 * len(self._tags)),
            )
            consumer = asyncio.create_task(
                self._consume(subscription, signal_lost), name=f"opcua-notifications:{conn.id}"
            )
            consumer.add_done_callback(lambda task: self._consumer_ended(task, signal_lost))
            failed = await self._monitor(subscription)
            self._client = client
            self._on_connected()
            now = self._clock()
            self._deliver(Sample(tag_id, now, None, Quality.BAD) for tag_id in failed)
            await self._watch(client, lost, reason)
        except asyncio.CancelledError:
            graceful = client.uaclient.state is UaClientState.CONNECTED
            raise
        finally:
            self._client = None
            self._pending = []
            if consumer is not None:
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
            await self._dispose(client, graceful)
            if not graceful and client.uaclient.session.has_session:
                self._orphan = (client, time.monotonic())

    async def _close_orphan(self) -> None:
        """Close the session a lost connection left on the server, with its subscription.

        A server keeps such a session for reactivation until it times out, and PLCs have
        few session slots; this reactivates it on a new channel and closes it. While the
        server is unreachable the orphan is kept for the next attempt.
        """
        if self._orphan is None:
            return
        (client, lost_at), self._orphan = self._orphan, None
        if time.monotonic() - lost_at > SESSION_TIMEOUT_MS / 1000:
            return
        conn: OpcUaConnection = self._connection
        try:
            async with asyncio.timeout(conn.timeout_s):
                client.uaclient.clear_disconnect_request()
                await client.connect_socket()
                try:
                    await client.send_hello()
                    await client.open_secure_channel()
                    client.uaclient.session.rebind_authentication_token()
                    await client.activate_session(
                        conn.username or None, conn.password or None, client.user_certificate
                    )
                    await client.uaclient.close_session(True)
                    await client.close_secure_channel()
                finally:
                    client.uaclient.disconnect_socket()
        except TimeoutError:
            log.debug("opcua.orphan_dropped connection=%s error='timed out'", self.connection_id)
        except OSError as exc:
            self._orphan = (client, lost_at)
            log.debug("opcua.orphan_kept connection=%s error=%r", self.connection_id, describe(exc))
        except Exception as exc:
            log.debug(
                "opcua.orphan_dropped connection=%s error=%r", self.connection_id, describe(exc)
            )
        else:
            log.info("opcua.orphan_closed connection=%s", self.connection_id)

    def _subscription_parameters(self) -> ua.CreateSubscriptionParameters:
        interval = float(self._connection.publishing_interval_ms)
        keepalive = max(1, math.ceil(KEEPALIVE_S * 1000 / interval))
        return ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=interval,
            RequestedMaxKeepAliveCount=keepalive,
            RequestedLifetimeCount=max(3 * keepalive, math.ceil(60_000 / interval)),
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=0,
        )

    async def _resolve_nodes(self, client: Client) -> None:
        """Node ids of the tags on this server, and the server's per-request limits."""
        params = ua.ReadParameters()
        for node_id in (NAMESPACE_ARRAY, MAX_MONITORED_ITEMS_PER_CALL, MAX_NODES_PER_READ):
            params.NodesToRead.append(
                ua.ReadValueId(NodeId=node_id, AttributeId=ua.AttributeIds.Value)
            )
        namespaces, max_monitored, max_read = (
            dv.Value.Value
            if dv.Value is not None and (dv.StatusCode is None or dv.StatusCode.is_good())
            else None
            for dv in await client.uaclient.read(params)
        )
        self._namespaces = list(namespaces or [])
        self._monitor_chunk = min(MONITOR_CHUNK, max_monitored or MONITOR_CHUNK)
        self._read_chunk = max_read or 0
        self._node_ids = {}
        self._unresolved = {}
        for tag in self._tags.values():
            try:
                self._node_ids[tag.id] = resolve_address(tag.address, self._namespaces)
            except ValueError as exc:
                self._unresolved[tag.id] = str(exc)
        if self._unresolved:
            log.warning(
                "opcua.unresolved_tags connection=%s count=%d first=%s reason=%r",
                self.connection_id,
                len(self._unresolved),
                next(iter(self._unresolved)),
                next(iter(self._unresolved.values())),
            )

    async def _monitor(self, subscription: Subscription) -> list[str]:
        """Monitored items for every resolved tag, in chunks; the ids of tags that failed."""
        sampling = self._connection.publishing_interval_ms / 2
        self._handles = {}
        requests = []
        for index, (tag_id, node_id) in enumerate(self._node_ids.items()):
            handle = HANDLE_BASE + index
            self._handles[handle] = self._tags[tag_id]
            requests.append(
                ua.MonitoredItemCreateRequest(
                    ItemToMonitor=ua.ReadValueId(NodeId=node_id, AttributeId=ua.AttributeIds.Value),
                    MonitoringMode=ua.MonitoringMode.Reporting,
                    RequestedParameters=ua.MonitoringParameters(
                        ClientHandle=handle,
                        SamplingInterval=sampling,
                        QueueSize=1,
                        DiscardOldest=True,
                    ),
                )
            )
        failed = list(self._unresolved)
        for start in range(0, len(requests), self._monitor_chunk):
            chunk = requests[start : start + self._monitor_chunk]
            results = await subscription.create_monitored_items(chunk)
            for request, result in zip(chunk, results, strict=True):
                if isinstance(result, ua.StatusCode):
                    tag = self._handles.pop(request.RequestedParameters.ClientHandle)
                    failed.append(tag.id)
                    log.warning(
                        "opcua.monitor_failed connection=%s tag=%s address=%s status=%s",
                        self.connection_id,
                        tag.id,
                        tag.address,
                        result.name,
                    )
        return failed

    async def _consume(
        self, subscription: Subscription, signal_lost: Callable[[str], None]
    ) -> None:
        loop = asyncio.get_running_loop()
        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                tag = self._handles.get(event.data.subscription_data.client_handle or 0)
                if tag is None:
                    continue
                self._pending.append(self._sample(tag, event.data.monitored_item.Value))
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    loop.call_soon(self._flush)
            elif isinstance(event, StatusChangeEvent):
                status = event.notification.Status
                if not status.is_good():
                    signal_lost(f"subscription status {status.name}")

    def _consumer_ended(self, task: asyncio.Task[None],
                        signal_lost: Callable[[str], None]) -> None:
        """The notification consumer ended: no data flows any more, so the connection counts
        as lost (the hub reconnects) rather than looking connected."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            signal_lost("notification consumer ended")
            return
        log.error("opcua.consumer_failed connection=%s error=%r", self.connection_id,
                  describe(exc), exc_info=exc)
        signal_lost(f"notification consumer failed ({describe(exc)})")

    def _flush(self) -> None:
        """Deliver what one publish response brought, in one on_samples call."""
        self._flush_scheduled = False
        batch, self._pending = self._pending, []
        self._deliver(batch)

    def _sample(self, tag: Tag, dv: ua.DataValue | None) -> Sample:
        if dv is None:
            return Sample(tag.id, self._clock(), None, Quality.BAD)
        ts = _epoch(dv.SourceTimestamp) or self._clock()
        value = dv.Value.Value if dv.Value is not None else None
        return Sample(tag.id, ts, to_eng(tag, value), quality_of(dv.StatusCode))

    async def _watch(self, client: Client, lost: asyncio.Event, reason: list[str]) -> None:
        """Until the connection is lost: read CurrentTime every watchdog_s with a timeout."""
        conn: OpcUaConnection = self._connection
        probe_timeout = min(conn.timeout_s, max(0.75 * conn.watchdog_s, 0.5))
        params = ua.ReadParameters()
        params.NodesToRead.append(
            ua.ReadValueId(NodeId=CURRENT_TIME, AttributeId=ua.AttributeIds.Value)
        )
        while True:
            try:
                await asyncio.wait_for(lost.wait(), conn.watchdog_s)
            except TimeoutError:
                pass
            if lost.is_set():
                raise ConnectionLost(reason[0])
            try:
                await asyncio.wait_for(client.uaclient.read(params), probe_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if lost.is_set():
                    raise ConnectionLost(reason[0]) from None
                raise ConnectionLost(
                    f"watchdog: no answer to a read of the server time within "
                    f"{probe_timeout:g} s ({describe(exc)})"
                ) from None

    async def _dispose(self, client: Client, graceful: bool) -> None:
        """Close the client and make sure none of its tasks outlive it."""
        await close_client(client, graceful, self._connection.timeout_s, self.connection_id)


async def close_client(client: Client, graceful: bool, timeout_s: float, label: str) -> None:
    """Close a client (disconnecting its session first when `graceful`) and make sure none
    of its tasks outlive it."""
    if graceful:
        try:
            await asyncio.wait_for(client.disconnect(), min(2.0, timeout_s))
        except Exception as exc:
            log.debug("opcua.disconnect_failed connection=%s error=%r", label, describe(exc))
    client.uaclient.request_disconnect()
    try:
        client.uaclient.disconnect_socket()
    except Exception:
        log.debug("opcua.close_socket_failed connection=%s", label, exc_info=True)
    tasks = [
        getattr(client, "_supervisor_task", None),
        getattr(client, "_stale_watchdog_task", None),
        getattr(client, "_renew_channel_task", None),
        getattr(client.uaclient.session, "_publish_task", None),
    ]
    for subscription in getattr(client, "_subscriptions", ()):
        tasks.extend(getattr(subscription, "_dispatch_tasks", ()))
    pending = [t for t in tasks if t is not None and not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _plain(node_id: ua.NodeId) -> ua.NodeId:
    return ua.NodeId(node_id.Identifier, node_id.NamespaceIndex, node_id.NodeIdType)
