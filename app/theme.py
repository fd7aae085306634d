"""Look and feel: a dark Fusion palette (what music software users expect) and per-track colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

TRACK_COLORS: tuple[str, ...] = (
    "#f4a259",  # amber
    "#5bc0eb",  # sky
    "#9bc53d",  # lime
    "#e55934",  # vermilion
    "#c879ff",  # violet
    "#fde74c",  # yellow
    "#4ecdc4",  # teal
    "#ff6b9a",  # pink
    "#8d99ae",  # slate
    "#7ae582",  # mint
    "#f7b267",  # peach
    "#6c8cff",  # blue
)

BG = QColor("#1e2127")
LANE_A = QColor("#262a31")
LANE_B = QColor("#22262c")
LANE_LINE = QColor("#3a3f48")
BAR_LINE = QColor("#4b515c")
BEAT_LINE = QColor("#2f343c")
RULER_BG = QColor("#2c3038")
CHORD_BG = QColor("#252930")
TEXT = QColor("#d7dae0")
TEXT_DIM = QColor("#8a919c")
SELECTION_FILL = QColor(110, 170, 255, 48)
SELECTION_EDGE = QColor(120, 180, 255, 220)
PLAYHEAD = QColor("#ff5252")
LOCK = QColor("#ffd166")
NOTE_PICKED = QColor("#ffffff")
GHOST = QColor(215, 218, 224, 120)  # the song under an auditioned variation


def track_color(index: int) -> QColor:
    return QColor(TRACK_COLORS[index % len(TRACK_COLORS)])


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    base, alt, text = QColor("#1b1e23"), QColor("#2a2e35"), QColor("#d7dae0")
    pal.setColor(QPalette.ColorRole.Window, QColor("#2a2e35"))
    pal.setColor(QPalette.ColorRole.WindowText, text)
    pal.setColor(QPalette.ColorRole.Base, base)
    pal.setColor(QPalette.ColorRole.AlternateBase, alt)
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#30343c"))
    pal.setColor(QPalette.ColorRole.ToolTipText, text)
    pal.setColor(QPalette.ColorRole.Text, text)
    pal.setColor(QPalette.ColorRole.Button, QColor("#343943"))
    pal.setColor(QPalette.ColorRole.ButtonText, text)
    pal.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#4f8cff"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor("#7a808a"))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b717b"))
    app.setPalette(pal)
