"""The velocity lane under the roll: one stem per note of the focused track; drag across it to set velocities.

The focused track is the one holding the picked notes, else the first selected track, else the first track.
When notes are picked only they are edited, so a drag cannot flatten the rest of the bar. One drag is one
undo command (``velocitiesChanged`` reports the whole change when the mouse is released).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app import theme
from app.document import NoteKey
from app.piano_roll import PianoRollCanvas

VELOCITY_H = 64
HIT_PX = 4  # how close (pixels) a stem must be to the mouse to be changed


class VelocityLane(QWidget):
    velocitiesChanged = Signal(object)  # dict[NoteKey, int]

    def __init__(self, canvas: PianoRollCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.doc = canvas.doc
        self.setFixedHeight(VELOCITY_H)
        self.setToolTip("Velocity of the focused track's notes: drag up or down across the stems to change them")
        self._pending: dict[NoteKey, int] = {}
        canvas.viewChanged.connect(self.update)

    def focus_lane(self) -> int | None:
        tracks = self.canvas.tracks()
        if not tracks:
            return None
        picked = sorted({k[0] for k in self.doc.selected_notes})
        if picked and picked[0] < len(tracks):
            return picked[0]
        sel = self.doc.selection
        if sel is not None and sel.tracks:
            return sel.tracks[0] if sel.tracks[0] < len(tracks) else 0
        return 0

    def _stems(self) -> tuple[int | None, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(lane, x pixels, velocities, starts, pitches) of the focused track's notes in view."""
        lane = self.focus_lane()
        empty = np.zeros(0, dtype=np.int64)
        if lane is None:
            return None, empty.astype(float), empty, empty, empty
        arrays = self.doc.arrays(self.canvas.tracks()[lane])
        t0, t1 = self.canvas.visible_ticks()
        sl = arrays.visible(t0, t1)
        starts = arrays.starts[sl]
        keep = starts >= t0
        starts = starts[keep]
        xs = (starts - self.canvas.scroll_tick) * self.canvas.px_per_tick
        return lane, xs, arrays.velocities[sl][keep], starts, arrays.pitches[sl][keep]

    def _y(self, velocity: float) -> float:
        return self.height() - 3 - (self.height() - 6) * velocity / 127

    def _velocity_at(self, y: float) -> int:
        return int(round(min(max((self.height() - 3 - y) / max(self.height() - 6, 1) * 127, 1), 127)))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), theme.LANE_B)
            p.setPen(theme.LANE_LINE)
            p.drawLine(0, 0, self.width(), 0)
            lane, xs, vels, starts, pitches = self._stems()
            if lane is None:
                return
            p.setPen(theme.TEXT_DIM)
            p.drawText(QRectF(4, 2, 200, 14), Qt.AlignmentFlag.AlignLeft, f"Velocity · {self.canvas.tracks()[lane].name or f'Track {lane + 1}'}")
            color = theme.track_color(lane)
            picked = self.doc.selected_notes
            if len(xs) > self.width() // 3:  # denser than the pixels: one stem per pixel column, its loudest
                cols = np.clip(xs.astype(np.int64), 0, max(self.width() - 1, 0))
                loudest = np.zeros(max(self.width(), 1), dtype=np.int64)
                np.maximum.at(loudest, cols, vels)
                p.setPen(QPen(color, 1))
                bottom = self.height() - 3
                for x in np.nonzero(loudest)[0].tolist():
                    p.drawLine(QPointF(x, bottom), QPointF(x, self._y(int(loudest[x]))))
                return
            for x, v, s, q in zip(xs.tolist(), vels.tolist(), starts.tolist(), pitches.tolist(), strict=True):
                key = (lane, int(s), int(q))
                v = self._pending.get(key, v)
                p.setPen(QPen(theme.NOTE_PICKED if key in picked else color, 2))
                p.drawLine(QPointF(x, self.height() - 3), QPointF(x, self._y(v)))
                p.fillRect(QRectF(x - 2, self._y(v) - 2, 5, 5), theme.NOTE_PICKED if key in picked else color)
        finally:
            p.end()

    def _apply(self, pos: QPointF) -> None:
        lane, xs, _vels, starts, pitches = self._stems()
        if lane is None or lane >= len(self.doc.score.tracks) or self.doc.preview_index is not None:
            return
        near = np.nonzero(np.abs(xs - pos.x()) <= HIT_PX)[0]
        picked = {k for k in self.doc.selected_notes if k[0] == lane}
        vel = self._velocity_at(pos.y())
        for i in near.tolist():
            key = (lane, int(starts[i]), int(pitches[i]))
            if not picked or key in picked:
                self._pending[key] = vel
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._pending = {}
            self._apply(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._apply(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            changed, self._pending = self._pending, {}
            if changed:
                self.velocitiesChanged.emit(changed)
            self.update()
