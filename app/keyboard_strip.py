"""A piano keyboard beside each pitched lane, level with its pitch rows, with the C's named (C4 = MIDI 60).

It only reads the canvas's geometry (lane tops, each lane's pitch range), so it scrolls and zooms with it.
Drum lanes get no keyboard: their rows are drum sounds, not pitches.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from app import theme
from app.music_text import note_name
from app.piano_roll import HEADER_H, LANE_PAD, PianoRollCanvas

KEYS_W = 34
BLACK = {1, 3, 6, 8, 10}


class KeyboardStrip(QWidget):
    def __init__(self, canvas: PianoRollCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setFixedWidth(KEYS_W)
        self._font = QFont(self.font())
        self._font.setPointSizeF(6.5)
        self.last_labels: list[str] = []  # the note names drawn in the last frame (tests)
        canvas.viewChanged.connect(self.update)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        c = self.canvas
        p = QPainter(self)
        self.last_labels = []
        try:
            p.fillRect(self.rect(), theme.BG)
            p.setFont(self._font)
            tracks = c.tracks()
            for lane in c._visible_lanes():
                top = c.lane_top(lane)
                if tracks[lane].is_drum:
                    p.fillRect(QRectF(0, top, KEYS_W, c.lane_height), theme.LANE_B)
                    continue
                hi, rows, row_h = c._row_geometry(lane)
                for r in range(rows):
                    pitch = hi - r
                    y = top + LANE_PAD + r * row_h
                    if y + row_h < HEADER_H:
                        continue
                    black = pitch % 12 in BLACK
                    rect = QRectF(0, y, KEYS_W - 1, max(row_h - 0.5, 0.5))
                    p.fillRect(rect, QColor("#1b1d21") if black else QColor("#c9ccd2"))
                    if pitch % 12 == 0 and row_h >= 5:
                        p.setPen(QColor("#202328"))
                        p.drawText(rect.adjusted(2, -3, 0, 3), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, note_name(pitch) + " ")
                        self.last_labels.append(note_name(pitch))
                p.setPen(theme.LANE_LINE)
                p.drawLine(0, top + c.lane_height - 1, KEYS_W, top + c.lane_height - 1)
            p.fillRect(QRectF(0, 0, KEYS_W, HEADER_H), theme.RULER_BG)
        finally:
            p.end()
