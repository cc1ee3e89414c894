"""The main window: the frame (header, banner) over a touch-first side rail and the pages."""

from __future__ import annotations

import importlib

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSize, Qt, QTimer, Signal
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
from ui.session import PanelSession
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
RAIL_MIN_PX = 104
"""The rail's buttons are at least this wide, so "Connections" fits under its icon."""
BUILD_REST_AFTER_MS = 300
BUILD_NEXT_MS = 50

PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    # (key, glyph, name, module, class), the rail top to bottom. Each page is built as
    # Class(link, palette, target_px) and is a thin view over its view-models.
    ("overview", "▣", str(QT_TRANSLATE_NOOP("MainWindow", "Overview")), "ui.pages.overview",
     "OverviewPage"),
    ("alarms", "◆", str(QT_TRANSLATE_NOOP("MainWindow", "Alarms")), "ui.pages.alarms",
     "AlarmsPage"),
    ("trends", "∿", str(QT_TRANSLATE_NOOP("MainWindow", "Trends")), "ui.pages.trends",
     "TrendsPage"),
    ("rules", "⚙", str(QT_TRANSLATE_NOOP("MainWindow", "Rules")), "ui.pages.rules",
     "RulesPage"),
    ("connections", "⇄", str(QT_TRANSLATE_NOOP("MainWindow", "Connections")),
     "ui.pages.connections", "ConnectionsPage"),
    ("sync", "☁", str(QT_TRANSLATE_NOOP("MainWindow", "Sync")), "ui.pages.sync", "SyncPage"),
    ("audit", "☰", str(QT_TRANSLATE_NOOP("MainWindow", "Audit")), "ui.pages.audit", "AuditPage"),
)


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

        self.session = PanelSession(link, self)
        self.frame = Frame(link, self.session, palette, title)
        self.pages = QStackedWidget()
        self._built: dict[str, QWidget] = {}
        self._rail_width = max(self.target_px * 2, RAIL_MIN_PX)

        rail = named(QFrame(), "rail")
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(gap_px, gap_px, gap_px, gap_px)
        rail_layout.setSpacing(gap_px)
        self.rail_buttons = QButtonGroup(self)
        self.rail_buttons.setExclusive(True)
        self.rail_names = [key for key, *_ in PAGES]
        for index, (_key, glyph, name, _module, _cls) in enumerate(PAGES):
            button = named(QToolButton(), "railButton")
            button.setText(QCoreApplication.translate("MainWindow", name))
            button.setIcon(glyph_icon(glyph, self.target_px, palette.text))
            button.setIconSize(QSize(self.target_px * 2 // 3, self.target_px * 2 // 3))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setCheckable(True)
            button.setFixedWidth(self._rail_width)
            button.setMinimumHeight(self.target_px * 3 // 2)
            self.pages.addWidget(QWidget())  # the page itself is built when first shown
            button.clicked.connect(lambda _=False, i=index: self._show_index(i))
            self.rail_buttons.addButton(button, index)
            rail_layout.addWidget(button)
        rail_layout.addStretch(1)
        self._show_index(0)
        # The other pages are built once the runtime answered, so the first page and its
        # first live values come first; a tap on a page not built yet builds it at once.
        link.connected.connect(lambda: QTimer.singleShot(BUILD_REST_AFTER_MS, self._build_next))

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

    def page(self, key: str) -> QWidget:
        """The page named `key` in PAGES ("overview", "alarms", ...), built if need be."""
        built = self._built.get(key)
        if built is not None:
            return built
        index = self.rail_names.index(key)
        _key, _glyph, _name, module, cls = PAGES[index]
        page = getattr(importlib.import_module(module), cls)(self.link, self.theme,
                                                             self.target_px)
        placeholder = self.pages.widget(index)
        assert placeholder is not None
        current = self.pages.currentIndex()
        self.pages.insertWidget(index, page)
        self.pages.removeWidget(placeholder)
        placeholder.deleteLater()
        self.pages.setCurrentIndex(current)
        self._built[key] = page
        return page

    def pages_in_rail(self) -> list[tuple[str, QWidget]]:
        """(key, page) of every page, top to bottom, each built."""
        return [(key, self.page(key)) for key in self.rail_names]

    def show_page(self, page: QWidget | str) -> None:
        """Bring a page (or the page named so) to the front, as a tap on its rail button."""
        key = page if isinstance(page, str) else next(
            k for k, built in self._built.items() if built is page)
        self._show_index(self.rail_names.index(key))

    def _show_index(self, index: int) -> None:
        self.page(self.rail_names[index])
        self.pages.setCurrentIndex(index)
        self.rail_buttons.button(index).setChecked(True)

    def _build_next(self) -> None:
        """Build one page not built yet, then the next a little later (the loop stays
        free for values and taps in between)."""
        for key in self.rail_names:
            if key not in self._built:
                self.page(key)
                QTimer.singleShot(BUILD_NEXT_MS, self._build_next)
                return

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
