"""The "Connections and tags" page: each connection's state and each tag's live value."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.connection_table import ConnectionTableModel
from ui.link import Link
from ui.tag_table import TagTableModel
from ui.theme import Palette, named
from ui.widgets.table import table_view


class ConnectionsPage(QWidget):
    """Connections (state, since, last error) above the tags (definition, value, quality)."""

    def __init__(self, link: Link, palette: Palette, row_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connections = ConnectionTableModel(link, palette, self)
        self.tags = TagTableModel(link, palette, self)
        connections_proxy = QSortFilterProxyModel(self)
        connections_proxy.setSourceModel(self.connections)
        tags_proxy = QSortFilterProxyModel(self)
        tags_proxy.setSourceModel(self.tags)

        title = named(QLabel(self.tr("Connections and tags")), "pageTitle")
        self.connection_view = table_view(connections_proxy, row_px)
        header = self.connection_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ConnectionTableModel.ERROR, QHeaderView.ResizeMode.Stretch)
        self.connection_view.setSizeAdjustPolicy(
            QTableView.SizeAdjustPolicy.AdjustToContents)
        self.connection_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.tag_view = table_view(tags_proxy, row_px)
        self.tag_view.sortByColumn(TagTableModel.TAG, Qt.SortOrder.AscendingOrder)
        header = self.tag_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TagTableModel.DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        for column, width in ((TagTableModel.TAG, 220), (TagTableModel.VALUE, 170),
                              (TagTableModel.QUALITY, 200), (TagTableModel.TIME, 100),
                              (TagTableModel.CONNECTION, 110), (TagTableModel.ADDRESS, 240)):
            self.tag_view.setColumnWidth(column, width)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(named(QLabel(self.tr("Connections")), "sectionTitle"))
        layout.addWidget(self.connection_view)
        layout.addWidget(named(QLabel(self.tr("Tags")), "sectionTitle"))
        layout.addWidget(self.tag_view, 1)
