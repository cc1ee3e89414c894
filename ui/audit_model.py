"""The audit log's view-model: records of audit.query over a time range, newest first,
filtered by action (asked of the runtime) and by user (here: the API filters by action
only), as a table model."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from runtime.client import ApiError, Disconnected
from ui.clock import clock_text
from ui.link import Link

log = logging.getLogger(__name__)

RANGES_S = {"1h": 3600, "8h": 8 * 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600}
LIMIT = 2000
"""Records asked for at once (the newest); the page says when there were more."""
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

AnyIndex = QModelIndex | QPersistentModelIndex


class AuditTableModel(QAbstractTableModel):
    """Audit records: time, user, role, action, target, result, note, details."""

    TIME, USER, ROLE, ACTION, TARGET, RESULT, NOTE, DETAILS = range(8)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def set_records(self, records: list[dict[str, Any]]) -> None:
        """Show these records (audit.query's)."""
        self.beginResetModel()
        self._rows = list(records)
        self.endResetModel()

    def records(self) -> list[dict[str, Any]]:
        """The records shown."""
        return list(self._rows)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 8

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Time"), self.tr("User"), self.tr("Role"), self.tr("Action"),
                    self.tr("Target"), self.tr("Result"), self.tr("Note / cause"),
                    self.tr("Details"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record, column = self._rows[index.row()], index.column()
        if role == SORT_ROLE:
            return float(record.get("ts") or 0.0) if column == self.TIME else (
                self._display(record, column))
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        return None

    def _display(self, record: dict[str, Any], column: int) -> str:
        if column == self.TIME:
            return clock_text(record.get("ts"))
        if column == self.DETAILS:
            details = record.get("details") or {}
            return ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                             for k, v in details.items())
        key = ("", "user", "role", "action", "target", "result", "cause")[column]
        return str(record.get(key) or "")


class UserFilter(QSortFilterProxyModel):
    """Records of one user ("" for every user); sorts on raw values."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.user = ""
        self.setSortRole(SORT_ROLE)

    def set_user(self, user: str) -> None:
        """Show only `user`'s records ("" for all)."""
        self.beginFilterChange()
        self.user = user
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if not self.user:
            return True
        index = self.sourceModel().index(source_row, AuditTableModel.USER, source_parent)
        return bool(index.data() == self.user)


class AuditLog(QObject):
    """What the audit page shows: a time range back from now, an action, a user; `refresh()`
    asks the runtime again. `loaded(count, more)` after each answer; `failed(why)`."""

    loaded = Signal(int, bool)
    failed = Signal(str)

    def __init__(self, link: Link, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self.model = AuditTableModel(self)
        self.filtered = UserFilter(self)
        self.filtered.setSourceModel(self.model)
        self.range_s: float = RANGES_S["24h"]
        self.action = ""
        self.actions: set[str] = set()
        """Every action seen in an answer, for the action filter's choices."""
        self.users: set[str] = set()
        self.loaded_at = 0.0
        self._task: asyncio.Task[None] | None = None

    def set_range(self, seconds: float) -> None:
        """Records of the last `seconds`, then refresh."""
        self.range_s = seconds
        self.refresh()

    def set_action(self, action: str) -> None:
        """Records of one action ("" for all), then refresh."""
        self.action = action
        self.refresh()

    def set_user(self, user: str) -> None:
        """Records of one user ("" for all)."""
        self.filtered.set_user(user)

    def refresh(self) -> asyncio.Task[None] | None:
        """Ask the runtime for the records; None when it is not connected."""
        client = self._link.client
        if client is None or self._link.stale:
            self.failed.emit(self.tr("the runtime is not connected"))
            return None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        end = time.time() + 1.0
        start, action = end - 1.0 - self.range_s, self.action or None

        async def query() -> None:
            try:
                answer = await client.audit(start, end, action=action, limit=LIMIT,
                                            newest_first=True)
            except (ApiError, Disconnected, TimeoutError) as exc:
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                log.info("hmi.audit.query_failed error=%s", message)
                self.failed.emit(message or self.tr("no answer from the runtime"))
                return
            records = list(answer.get("records", []))
            self.actions |= {str(r.get("action")) for r in records if r.get("action")}
            self.users |= {str(r.get("user")) for r in records if r.get("user")}
            self.model.set_records(records)
            self.loaded_at = time.time()
            self.loaded.emit(len(records), len(records) >= LIMIT)

        self._task = asyncio.get_running_loop().create_task(query(), name="hmi-audit-query")
        return self._task
