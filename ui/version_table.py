"""The project's saved versions as a table: number, when, by whom, with what comment."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex


class VersionTableModel(QAbstractTableModel):
    """Versions newest first (as project.versions answers); the latest is marked running."""

    NUMBER, TIME, USER, COMMENT = range(4)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.versions: list[dict[str, Any]] = []

    def set_versions(self, versions: list[dict[str, Any]]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self.versions = list(versions)
        self.endResetModel()

    def number(self, row: int) -> int:
        """The version number of a row."""
        return int(self.versions[row]["number"])

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.versions)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Version"), self.tr("Deployed"), self.tr("By"),
                    self.tr("Comment"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        version = self.versions[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NUMBER:
                running = self.tr("  ▶ running") if index.row() == 0 else ""
                return f"{version['number']}{running}"
            if column == self.TIME:
                return time.strftime("%Y-%m-%d %H:%M", time.localtime(version["ts"]))
            if column == self.USER:
                return version.get("user") or ""
            return version.get("comment") or ""
        if role == Qt.ItemDataRole.UserRole:
            return int(version["number"])
        return None
