"""The one theme module: ISA-101 grey palettes (light, dark), sizes, fonts and style sheet.

Widgets take colours and sizes from here only (HMI-STYLE.md): grey is normal, colour is kept
for abnormal states and alarm priorities, and always comes with a shape and a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPainter, QPixmap, QScreen
from PySide6.QtWidgets import QWidget

W = TypeVar("W", bound=QWidget)

MM_PER_INCH = 25.4
TOUCH_TARGET_MM = 12.0
TOUCH_GAP_MM = 2.0
LABEL_PX = 15
VALUE_PX = 18
HEADER_PX = 20
KEY_VALUE_PX = 24
"""The few values that matter most (the overview's key values)."""


@dataclass(frozen=True)
class Palette:
    """The colours of one theme (HMI-STYLE.md's table)."""

    name: str
    background: str
    panel: str
    outline: str
    text: str
    secondary: str
    selection: str
    track: str
    """The empty part of an analog bar."""
    band: str
    """The normal band shaded on an analog bar."""
    critical: str = "#D0021B"
    medium: str = "#F5A623"
    low: str = "#F8E71C"
    stale: str = "#8C8C8C"
    on_alarm: str = "#FFFFFF"
    on_low: str = "#1A1A1A"
    grid: str = "#D2D2D2"
    """Trend grid lines: just off the plot's ground."""
    rule_output: str = "#4A6FA5"
    """A single calm blue for what a rule computed or wrote."""
    pens: tuple[str, ...] = ("#1F5A96", "#A0522D", "#2E7D6B", "#6A4C93", "#5B6B1F",
                             "#9C3D6E", "#55606E", "#8A6D1C", "#5B8DC4", "#C98559",
                             "#5FA896", "#9A83BF", "#8C9A4B", "#C4739B", "#8893A1",
                             "#B8973F")
    """Trend pens, in order: eight desaturated hues told apart from each other and from the
    alarm colours, then the same hues in a second tone (solid lines: dashes cost a paint)."""


LIGHT = Palette("light", background="#D4D4D4", panel="#E6E6E6", outline="#8C8C8C",
                text="#1A1A1A", secondary="#5F5F5F", selection="#C4C4C4",
                track="#C8C8C8", band="#F7F7F7")
DARK = Palette("dark", background="#2B2B2B", panel="#3A3A3A", outline="#6E6E6E",
               text="#E8E8E8", secondary="#A0A0A0", selection="#4A4A4A",
               track="#262626", band="#585858",
               rule_output="#7A9CCF", grid="#4A4A4A",
               pens=("#7FA7D9", "#D9956A", "#6CC0A8", "#B39DDB", "#B5C46A", "#D98BB5",
                     "#A9B4C2", "#D4B25A", "#4F7FB8", "#B0704A", "#3F9480", "#8A72B5",
                     "#8A9A40", "#B5628C", "#7A8594", "#A98A35"))
THEMES = {p.name: p for p in (LIGHT, DARK)}

PRIORITY_SHAPES = {"critical": "◆", "high": "◆", "medium": "▲", "low": "●"}
"""The shape that goes with each alarm priority, so colour is never the only cue."""


def alarm_colours(palette: Palette, priority: str) -> tuple[str, str]:
    """(background, text) of an alarm of `priority`."""
    if priority in ("critical", "high"):
        return palette.critical, palette.on_alarm
    if priority == "medium":
        return palette.medium, palette.on_low
    return palette.low, palette.on_low


def pen_colour(palette: Palette, index: int) -> str:
    """The `index`-th trend pen's colour."""
    return palette.pens[index % len(palette.pens)]


def px_for_mm(screen: QScreen | None, mm: float) -> int:
    """Pixels for a physical length on `screen` (96 DPI when Qt knows no screen)."""
    dpi = screen.physicalDotsPerInch() if screen is not None else 96.0
    if not 50.0 <= dpi <= 600.0:  # offscreen and some panels report nonsense
        dpi = 96.0
    return round(mm * dpi / MM_PER_INCH)


def value_font(px: int = VALUE_PX) -> QFont:
    """The font of changing numbers: the system font with tabular figures."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
    font.setPixelSize(px)
    font.setFeature(QFont.Tag("tnum"), 1)
    return font


def style_sheet(palette: Palette, target_px: int) -> str:
    """The application's style sheet for `palette`, with touch targets of `target_px`."""
    p = palette
    return f"""
QWidget {{ background: {p.background}; color: {p.text}; font-size: {LABEL_PX}px; }}
QFrame#header {{ background: {p.panel}; border-bottom: 1px solid {p.outline}; }}
QLabel#headerTitle {{ font-size: {HEADER_PX}px; font-weight: 600; background: transparent; }}
QLabel#headerInfo {{ color: {p.secondary}; background: transparent; }}
QFrame#rail {{ background: {p.panel}; border-right: 1px solid {p.outline}; }}
QToolButton#railButton {{
    background: transparent; border: 1px solid transparent; border-radius: 4px;
    min-width: {target_px * 2}px; max-width: {target_px * 2}px; min-height: {target_px}px;
    padding: 6px 4px;
    font-size: {LABEL_PX - 1}px; color: {p.secondary};
}}
QToolButton#railButton:checked {{
    background: {p.background}; border: 1px solid {p.outline}; color: {p.text};
    font-weight: 600;
}}
QToolButton#userButton {{
    background: transparent; border: 1px solid {p.outline}; border-radius: 4px;
    padding: 4px 12px; min-height: {target_px * 3 // 4}px; color: {p.text};
}}
QToolButton#userButton::menu-indicator {{ image: none; }}
QMenu {{ background: {p.panel}; border: 1px solid {p.outline}; }}
QMenu::item {{ padding: 12px 24px; min-height: {target_px // 2}px; }}
QMenu::item:selected {{ background: {p.selection}; }}
QLabel#banner {{ padding: 8px 16px; font-size: {VALUE_PX}px; font-weight: 600; }}
QLabel#notice {{ padding: 6px 16px; background: {p.panel}; border-bottom: 1px solid {p.outline}; }}
QLabel#notice[refused="true"] {{ color: {p.critical}; font-weight: 600; }}
QFrame#panel {{ background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px; }}
QFrame#panel QLabel {{ background: transparent; }}
QLabel#fieldLabel {{ color: {p.secondary}; }}
QLabel#pageTitle {{ font-size: {HEADER_PX}px; font-weight: 600; }}
QLabel#sectionTitle {{ color: {p.secondary}; font-weight: 600; padding-top: 8px; }}
QTableView {{
    background: {p.panel}; alternate-background-color: {p.panel};
    gridline-color: {p.background}; border: 1px solid {p.outline};
    selection-background-color: {p.selection}; selection-color: {p.text};
}}
QTableView::item {{ padding: 0px 8px; }}
QHeaderView::section {{
    background: {p.background}; color: {p.secondary}; border: none;
    border-bottom: 1px solid {p.outline}; padding: 6px 8px; font-weight: 600;
}}
QPushButton {{
    background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px;
    min-height: {target_px}px; padding: 0px 16px;
}}
QPushButton:pressed, QPushButton:checked {{ background: {p.selection}; }}
QPushButton:checked {{ border: 2px solid {p.text}; }}
QPushButton:disabled {{ color: {p.secondary}; border-style: dashed; }}
QPushButton#keypadKey, QPushButton#keypadOk, QPushButton#keypadCancel {{
    font-size: {VALUE_PX + 4}px; min-width: {target_px}px;
}}
QPushButton#keypadOk {{ font-weight: 600; border: 2px solid {p.text}; }}
QPushButton#actionButton {{ font-size: {VALUE_PX}px; font-weight: 600; padding: 0px 24px; }}
QLabel#keypadDisplay, QLineEdit#numberField, QLineEdit#noteField {{
    background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px; padding: 4px 12px;
}}
QLineEdit#noteField, QLineEdit#numberField {{ min-height: {target_px}px; font-size: {VALUE_PX}px; }}
QLabel#keypadDisplay {{ font-size: {HEADER_PX + 8}px; }}
QLabel#keypadUnit {{ font-size: {VALUE_PX}px; color: {p.secondary}; }}
QLabel#keypadRange, QLabel#hint {{ color: {p.secondary}; }}
QLabel#refusal {{
    background: {p.critical}; color: {p.on_alarm}; font-weight: 600; padding: 4px 8px;
    border-radius: 4px;
}}
QLabel#counts {{ font-size: {VALUE_PX}px; }}
QFrame#assetPanel {{ background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px; }}
QFrame#assetPanel QWidget {{ background: transparent; }}
QLabel#assetTitle {{ font-size: {HEADER_PX}px; font-weight: 600; }}
QLabel#assetInfo {{ color: {p.secondary}; }}
QFrame#lineBar {{ background: {p.panel}; border-top: 1px solid {p.outline}; }}
QFrame#lineBar QLabel {{ background: transparent; }}
QLabel#lineMode {{ font-size: {HEADER_PX}px; font-weight: 600; }}
QLabel#recent {{ color: {p.secondary}; }}
QPushButton#lineAction {{
    background: {p.background}; border: 2px solid {p.outline}; border-radius: 4px;
    min-height: {target_px}px; padding: 0px 20px; font-weight: 600;
}}
QPushButton#lineAction:pressed {{ background: {p.selection}; }}
QPushButton#lineAction:disabled {{ color: {p.secondary}; border-style: dashed; }}
QToolButton#rangeButton, QToolButton#trendAction {{
    background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px;
    min-width: {target_px * 3 // 2}px; min-height: {target_px}px; padding: 0px 8px;
}}
QToolButton#rangeButton:checked, QToolButton#trendAction:checked {{
    background: {p.selection}; font-weight: 600; border: 2px solid {p.text};
}}
QLineEdit#tagSearch {{
    background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px;
    min-height: {target_px * 3 // 4}px; padding: 0px 8px;
}}
QListView#tagPicker {{
    background: {p.panel}; border: 1px solid {p.outline};
}}
QListView#tagPicker::item {{ min-height: {target_px * 3 // 4}px; }}
QLabel#cursorTime {{ font-weight: 600; }}
QScrollBar:vertical {{ width: {target_px // 2}px; background: {p.background}; }}
QScrollBar::handle:vertical {{ background: {p.outline}; min-height: {target_px}px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0px; }}
QPushButton#touchButton, QPushButton#primaryButton, QPushButton#windowButton {{
    background: {p.panel}; border: 1px solid {p.outline}; border-radius: 4px;
    min-height: {target_px}px; padding: 0px 16px;
}}
QPushButton#primaryButton {{ font-weight: 600; border-width: 2px; }}
QPushButton#windowButton:checked {{ background: {p.selection}; font-weight: 600; }}
QPushButton:disabled {{ color: {p.secondary}; border-style: dashed; }}
QLabel#entryLabel {{ font-weight: 600; }}
QLabel#entryWhere {{ color: {p.secondary}; font-size: {LABEL_PX - 1}px; }}
QLabel#entryUnit, QLabel#entryRange, QLabel#entryNote, QLabel#editCount,
QLabel#previewStatus, QLabel#sectionLabel {{ color: {p.secondary}; }}
QLabel#reason {{ color: {p.text}; background: {p.panel}; border: 1px solid {p.outline};
    padding: 8px; }}
QDoubleSpinBox#entrySpin {{ background: {p.panel}; border: 1px solid {p.outline};
    padding: 0px 8px; }}
QDoubleSpinBox#entrySpin:disabled {{ color: {p.secondary}; }}
QSlider#entrySlider::groove:horizontal {{ height: 6px; background: {p.outline};
    border-radius: 3px; }}
QSlider#entrySlider::handle:horizontal {{ background: {p.panel}; border: 2px solid {p.text};
    width: {target_px // 2}px; margin: -{target_px // 4}px 0; border-radius: 4px; }}
QSlider#entrySlider::handle:horizontal:disabled {{ border-color: {p.outline}; }}
QListView#flowList {{ background: {p.panel}; border: 1px solid {p.outline};
    selection-background-color: {p.selection}; selection-color: {p.text}; }}
QLabel#summary {{ font-weight: 600; }}
QFrame#shadowBox {{ background: {p.panel}; border: 1px solid {p.outline}; }}
QFrame#shadowBox QLabel {{ background: transparent; }}
QLabel#shadowTitle {{ font-weight: 600; }}
QPlainTextEdit#diff {{ background: {p.panel}; border: 1px solid {p.outline}; }}
QTabWidget::pane {{ border: 1px solid {p.outline}; background: {p.background}; }}
QTabBar::tab {{ background: {p.background}; color: {p.secondary}; padding: 10px 24px;
    min-height: {target_px // 2}px; border: 1px solid transparent; }}
QTabBar::tab:selected {{ color: {p.text}; font-weight: 600; border: 1px solid {p.outline};
    border-bottom: none; background: {p.background}; }}
"""


def glyph_icon(glyph: str, px: int, colour: str) -> QIcon:
    """An icon drawn from a text glyph (the rail's symbols), `px` square, in `colour`."""
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    font = painter.font()
    font.setPixelSize(round(px * 0.8))
    painter.setFont(font)
    painter.setPen(QColor(colour))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, glyph)
    painter.end()
    return QIcon(pixmap)


def named(widget: W, name: str) -> W:
    """`widget` with an object name, for the style sheet's #name selectors."""
    widget.setObjectName(name)
    return widget


PENS = ("#4A6FA5", "#7A6A58", "#5E7F5A", "#7B5E86", "#8A7F4A", "#4F8584")
"""Trace pens, in order: a small set of desaturated colours told apart side by side."""


def rule_colour(palette: Palette) -> str:
    """The one calm blue of what a rule computed (HMI-STYLE: AI / rule output)."""
    return "#7A9CCF" if palette.name == "dark" else "#4A6FA5"
