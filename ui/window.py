"""The main window: the frame (header, banner) over a touch-first side rail and the pages."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.frame import Frame
from ui.link import Link
from ui.pages.connections import ConnectionsPage
from ui.pages.rules import RulesPage
from ui.theme import (
    LIGHT,
    TOUCH_GAP_MM,
    TOUCH_TARGET_MM,
    Palette,
    glyph_icon,
    named,
    px_for_mm,
    style_sheet,
)

MIN_TARGET_PX = 44
"""Never smaller than this, whatever DPI the screen reports."""


class MainWindow(QMainWindow):
    """Frame on top, rail on the left, the selected page in the rest."""

    closed = Signal()
    """The window was closed (the app then detaches; the runtime keeps running)."""

    def __init__(self, link: Link, palette: Palette = LIGHT, title: str = "Lineside",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.theme = palette
        screen = self.screen()
        self.target_px = max(MIN_TARGET_PX, px_for_mm(screen, TOUCH_TARGET_MM))
        gap_px = max(6, px_for_mm(screen, TOUCH_GAP_MM))
        self.setWindowTitle(self.tr("Lineside HMI"))
        self.setStyleSheet(style_sheet(palette, self.target_px))

        self.frame = Frame(link, palette, title)
        self.pages = QStackedWidget()
        self.connections_page = ConnectionsPage(link, palette, self.target_px)
        self.rules_page = RulesPage(link, palette, self.target_px)
        # The rail, top to bottom: (glyph, name, page). Each page takes (link, palette,
        # target_px) and is a thin view over its view-models.
        rail_pages: list[tuple[str, str, QWidget]] = [
            ("⇄", self.tr("Connections"), self.connections_page),
            ("⚙", self.tr("Rules"), self.rules_page),
        ]

        rail = named(QFrame(), "rail")
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(gap_px, gap_px, gap_px, gap_px)
        rail_layout.setSpacing(gap_px)
        self.rail_buttons = QButtonGroup(self)
        self.rail_buttons.setExclusive(True)
        for glyph, name, page in rail_pages:
            button = named(QToolButton(), "railButton")
            button.setText(name)
            button.setIcon(glyph_icon(glyph, self.target_px, palette.text))
            button.setIconSize(QSize(self.target_px * 2 // 3, self.target_px * 2 // 3))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setCheckable(True)
            button.setMinimumSize(self.target_px * 2, self.target_px * 3 // 2)
            index = self.pages.addWidget(page)
            button.clicked.connect(lambda _=False, i=index: self.pages.setCurrentIndex(i))
            self.rail_buttons.addButton(button, index)
            rail_layout.addWidget(button)
        rail_layout.addStretch(1)
        self.rail_buttons.button(0).setChecked(True)
        self.rail_pages = rail_pages

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(rail)
        body.addWidget(self.pages, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.frame)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)

    def show_page(self, page: QWidget) -> None:
        """Bring `page` to the front, as a tap on its rail button does."""
        index = self.pages.indexOf(page)
        self.pages.setCurrentIndex(index)
        self.rail_buttons.button(index).setChecked(True)

    def enter_kiosk(self) -> None:
        """Full screen with no window controls (a panel PC's kiosk)."""
        self.setWindowFlags(self.windowFlags() | Qt.WindowType.FramelessWindowHint)
        self.showFullScreen()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)


def apply_font(app: QApplication) -> None:
    """The one sans-serif family at the label size (HMI-STYLE: at least 14 px)."""
    font = app.font()
    font.setPixelSize(15)
    app.setFont(font)
