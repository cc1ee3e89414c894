"""Every API operation, in one table: its name, the least role that may call it, the JSON
Schema of its data, what it returns, and its handler. The server checks each request
against this table; docs/api.md is generated from it (`make docs`)."""

from __future__ import annotations

from runtime.api.handlers import (
    alarms,
    connections,
    history,
    line,
    models,
    plant,
    project,
    rules,
    session,
    system,
)
from runtime.api.operation import (
    NOTHING,
    Operation,
    array,
    integer,
    number,
    obj,
    one_of,
    text,
)
from runtime.contracts import LineMode

_NOTE = text(1000)
_DOCUMENT = {"type": "object"}
"""A project document (checked by project validation, not by the request schema)."""
_WINDOW = {"start": number(), "end": number()}
_CONNECTION = {"type": "object"}
"""A connection object of the project document (checked by project validation)."""
_LIMIT = integer(minimum=1, maximum=10_000)
_VERSION = integer(minimum=1)
_ID = text(64, pattern=r"^[A-Za-z0-9_.\-]+$")
_PARAMS = {"type": "object", "maxProperties": 200,
           "additionalProperties": {"type": "object", "maxProperties": 100}}
"""Changed parameters: node id to {parameter: value} (checked like a deploy)."""
_DEPLOYED = "{version, hash, started, kept, stopped}"

OPERATIONS: tuple[Operation, ...] = (
    # -- session -------------------------------------------------------------------------
    Operation("auth.login", None, "Log in with the local token, or a user name and password.",
              {"oneOf": [obj(("token",), token=text(200)),
                         obj(("user", "password"), user=text(64), password=text(1000))]},
              "{user, role, via, subscriptions}", session.login),
    Operation("auth.logout", "viewer", "Log out; the connection stays open.", NOTHING, "{}",
              session.logout),
    Operation("auth.whoami", "viewer", "Who is logged in on this connection.", NOTHING,
              "{user, role, via, subscriptions}", session.whoami),
    Operation("runtime.status", "viewer",
              "Version, uptime, connections, flows and their failures, supervised tasks, "
              "store and sync state.", NOTHING, "RuntimeStatus", session.status),
    Operation("subscribe", "viewer",
              "Receive the topics matching a pattern (`*` matches anything); retained topics "
              "arrive at once.", obj(("pattern",), pattern=text(200)),
              "{pattern, retained}", session.subscribe),
    Operation("unsubscribe", "viewer", "Stop receiving a pattern's topics.",
              obj(("pattern",), pattern=text(200)), "{pattern}", session.unsubscribe),
    # -- engineering ---------------------------------------------------------------------
    Operation("registry.list", "viewer",
              "Every node type the runtime can run: ports, parameters with units, ranges and "
              "tunables.", NOTHING, "{node_types: [NodeSpec]}", project.registry_list),
    Operation("project.get", "viewer",
              "A deployed version's document (the latest without `version`).",
              obj(version=_VERSION), "{number, hash, user, ts, comment, document, running}",
              project.project_get),
    Operation("project.validate", "engineer",
              "Every problem of a document, with its JSON path; nothing is deployed.",
              obj(("document",), document=_DOCUMENT), "{problems: [{path, message}]}",
              project.project_validate),
    Operation("project.deploy", "engineer",
              "Deploy a document as a new version. With `base_version`, a version deployed "
              "since refuses it (conflict, naming the newer version).",
              obj(("document",), document=_DOCUMENT, base_version=_VERSION,
                  comment=text(500)),
              "{version, hash, started, kept, stopped}", project.project_deploy),
    Operation("project.versions", "viewer", "Every saved version, newest first.", NOTHING,
              "{versions: [{number, hash, user, ts, comment}]}", project.project_versions),
    Operation("project.diff", "viewer",
              "What changed from one version to another, per connection, tag, flow, node, "
              "parameter and wire.", obj(("from", "to"), **{"from": _VERSION, "to": _VERSION}),
              "{changes: [{path, kind, old, new}]}", project.project_diff),
    Operation("project.rollback", "engineer", "Deploy an earlier version again.",
              obj(("version",), version=_VERSION), "{version, hash, started, kept, stopped}",
              project.project_rollback),
    # -- plant ---------------------------------------------------------------------------
    Operation("tags.list", "viewer",
              "Every tag of the deployed project with its definition and latest value.",
              NOTHING, "{tags: [Tag + latest {ts, value, quality}]}", plant.tags_list),
    Operation("tags.read", "viewer", "The latest value, time and quality of some tags.",
              obj(("tags",), tags=array(text(64), max_items=5000, minItems=1)),
              "{values: {tag: {ts, value, quality} | null}}", plant.tags_read),
    Operation("tags.write", "operator",
              "A person's write to a writable tag, inside its envelope, in either line "
              "mode; audited with the user.",
              obj(("tag", "value"), tag=text(64),
                  value={"type": ["number", "boolean"]}),
              "{tag, value}", plant.tags_write),
    Operation("tags.browse", "engineer",
              "A connection's address space: OPC UA nodes under `node` (browsed live), or the "
              "configured Modbus map.", obj(("connection",), connection=text(64),
                                            node=text(500)),
              "{connection, kind, nodes: [{node_id, browse_name, display_name, node_class, "
              "data_type, tag_type}]}", plant.tags_browse),
    Operation("connections.test", "engineer",
              "Try a connection object's settings without deploying: connect within "
              "`timeout_s` (default 5, at most 30), read who the server is and time one "
              "request; for Modbus with a `unit_id`, read holding register 0 (a device "
              "exception is reported, and counts as reachable). Unreachable is `ok: false` "
              "with the error in words; a malformed object is `invalid` with each path.",
              obj(("connection",), connection=_CONNECTION,
                  timeout_s=number(exclusiveMinimum=0, maximum=connections.MAX_TIMEOUT_S)),
              "{ok, kind, endpoint, server: {product_name, manufacturer_name, "
              "software_version, application_name, application_uri, ... | unit_id, read, "
              "value}, certificate_fingerprint, security: {policy, mode}, latency_ms, error}",
              connections.connections_test),
    # -- history -------------------------------------------------------------------------
    Operation("history.query", "viewer",
              "Tags over [start, end) for a plot: up to `width` buckets as columns "
              "(Buckets: first_ts, last_ts, min, max, last, quality, count; a list each, one "
              "entry per bucket that holds samples).", obj(("tags", "start", "end", "width"),
                              tags=array(text(64), max_items=50, minItems=1), **_WINDOW,
                              width=integer(minimum=1, maximum=10_000)),
              "{start, end, width, series: {tag: Buckets}}", history.history_query),
    Operation("events.query", "viewer", "Events in [start, end), optionally of some kinds.",
              obj(("start", "end"), **_WINDOW, kinds=array(text(64), max_items=50),
                  limit=_LIMIT, newest_first={"type": "boolean"}),
              "{events: [EventRecord]}", history.events_query),
    Operation("audit.query", "viewer", "Audit records in [start, end), optionally of one "
              "action.", obj(("start", "end"), **_WINDOW, action=text(64), limit=_LIMIT,
                             newest_first={"type": "boolean"}),
              "{records: [AuditRecord]}", history.audit_query),
    # -- alarms --------------------------------------------------------------------------
    Operation("alarms.list", "viewer",
              "Every alarm not normal (shelved ones too), most important first.", NOTHING,
              "{alarms: [AlarmRecord]}", alarms.alarms_list),
    Operation("alarms.ack", "operator", "Acknowledge an alarm, with a note.",
              obj(("alarm",), alarm=text(128), note=_NOTE), "AlarmRecord", alarms.alarms_ack),
    Operation("alarms.shelve", "operator",
              "Shelve an alarm for a while, with a note; it returns by itself.",
              obj(("alarm", "duration_s"), alarm=text(128), note=_NOTE,
                  duration_s=number(exclusiveMinimum=0)), "AlarmRecord", alarms.alarms_shelve),
    Operation("alarms.unshelve", "operator", "Return a shelved alarm now.",
              obj(("alarm",), alarm=text(128), note=_NOTE), "AlarmRecord",
              alarms.alarms_unshelve),
    # -- line ----------------------------------------------------------------------------
    Operation("line.set_mode", "operator",
              "Switch the line between automatic and manual (manual stops rule writes, "
              "queued ones too).", obj(("mode",), mode=one_of(*LineMode.ALL), cause=_NOTE),
              "{mode, cancelled_writes}", line.set_mode),
    Operation("line.stop_ai_writes", "operator",
              "One confirmed action: the line to manual, every queued rule write cancelled.",
              obj(("confirm",), confirm={"const": True}), "{mode, cancelled_writes}",
              line.stop_ai_writes),
    # -- rules ---------------------------------------------------------------------------
    Operation("backtest.run", "engineer",
              "Replay a deployed flow (changed by `params`) over [start, end) of history, in "
              "a worker process: the alarms, writes and line-mode changes it would have "
              "made, and each node output as `width` min/max buckets. Progress on "
              "`backtests/<run>`; cancellable.",
              obj(("flow", "start", "end"), flow=_ID, **_WINDOW, params=_PARAMS,
                  width=integer(minimum=1, maximum=4000), version=_VERSION,
                  line_mode=one_of(*LineMode.ALL), run=_ID),
              "{run, flow, version, samples, elapsed_s, errors, events_total, events, "
              "alarms_raised, writes, line_modes, traces: {node:port: Buckets}}",
              rules.backtest_run),
    Operation("backtest.cancel", "engineer", "End a running backtest; it answers "
              "`cancelled`.", obj(("run",), run=_ID), "{run}", rules.backtest_cancel),
    Operation("shadow.start", "engineer",
              "Deploy, as a new version, a shadow copy of a live flow with changed "
              "parameters: it runs beside it, its alarms and writes recorded, not done.",
              obj(("flow",), flow=_ID, params=_PARAMS, comment=text(500)),
              "{shadow, " + _DEPLOYED[1:], rules.shadow_start),
    Operation("shadow.compare", "viewer",
              "A shadow's alarms and writes against its live flow's, since it started (from "
              "a minute before its version, as its first samples may be stamped earlier), "
              "or over [start, end).", obj(("flow",), flow=_ID, **_WINDOW),
              "{flow, shadow, start, end, params, comparison, summary: [text]}",
              rules.shadow_compare),
    Operation("shadow.promote", "engineer",
              "The shadow's parameters become the live flow's, as a new version; the shadow "
              "ends.", obj(("flow",), flow=_ID, comment=text(500)),
              "{changes, " + _DEPLOYED[1:], rules.shadow_promote),
    Operation("shadow.stop", "engineer", "Remove a live flow's shadow, as a new version.",
              obj(("flow",), flow=_ID, comment=text(500)), _DEPLOYED, rules.shadow_stop),
    # -- models and sync -----------------------------------------------------------------
    Operation("models.list", "viewer", "The registered models and which are open.",
              NOTHING, "{models: [ModelInfo + key, open]}", models.models_list),
    Operation("models.add", "engineer",
              "Upload a model (the .onnx file in base64, up to `max_model_bytes`, 16 MiB by "
              "default) with its sidecar metadata; checked as `lineside-runtime models add` "
              "checks a file, registered, audited, and usable by a deploy at once. The "
              "same file again changes nothing; another file under a registered id@version "
              "is a conflict.",
              obj(("file_name", "onnx_base64", "sidecar"), file_name=text(255),
                  onnx_base64={"type": "string", "minLength": 1},
                  sidecar={"type": "object"}),
              "ModelInfo + key", models.models_add),
    Operation("models.remove", "engineer",
              "Unregister a model and delete its file, audited; a conflict while the "
              "deployed project uses it (the message names the flows and nodes).",
              obj(("model",), model=text(80, pattern=r"^[^@]+@[0-9]+$")),
              "ModelInfo + key", models.models_remove),
    Operation("sync.status", "viewer",
              "Outbox depth, oldest record, drain rate, last acknowledgement, drops, broker.",
              NOTHING, "SyncStatus", system.sync_status),
    Operation("sync.backlog", "viewer",
              "The outbox's depth over the last hours (since the runtime started, at most "
              "24 h): per period, the largest depth and the oldest record's age.",
              obj((), hours={"type": "number", "exclusiveMinimum": 0, "maximum": 24}),
              "{period_s, ts: [float], records: [int], oldest_age_s: [float]}",
              system.sync_backlog),
)

BY_NAME = {op.name: op for op in OPERATIONS}
