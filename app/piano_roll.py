"""The multi-track piano roll: one stacked lane per track, bar/beat grid, chord lane, playhead, selection.

Two tools, as in every DAW: with the Select tool a drag always draws a region and a click picks notes;
with the Pencil tool a click draws a note (snapped to the chosen grid) and a drag on a note moves it.
While a variation is auditioned, the song's own notes show underneath as ghost outlines.

The strip under the ruler is the chord lane: a click or drag there picks chord cells (at the lane's
resolution: beat, half bar or bar) to type or choose a chord for; a drag from the chord lane down into the
tracks, or from the tracks up into it, selects a region whose chords the model rewrites too.

Drawing is a single ``paintEvent`` that culls by time range through each track's sorted numpy arrays
(``Document.arrays``): only the notes that can be visible are touched. When a lane would need more than a
few thousand rectangles (zoomed far out on a big file), it is rasterised with numpy instead (a run-length
coverage image per pitch row), so even 100k notes draw in a few milliseconds.

The widget turns mouse gestures into intents (signals); the window turns intents into undo commands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QComboBox, QGridLayout, QScrollBar, QSizePolicy, QToolTip, QWidget

from app import theme
from app.chord_lane import DEFAULT_RESOLUTION, cell_at, span_between
from app.document import (
    Document,
    NoteKey,
    RegionSelection,
    bar_at_tick,
    bar_tick,
    region_ticks,
)
from app.music_text import chord_text, describe_note
from app.snap import DEFAULT_SNAP, SNAPS, Snap, snap_delta, snap_tick, step_ticks
from engine.score import Note

RULER_H = 20
CHORD_H = 18
HEADER_H = RULER_H + CHORD_H
LANE_PAD = 3
RASTER_THRESHOLD = 2500  # visible notes in one lane above which the lane is rasterised with numpy


# Keys that start typing a chord symbol over picked chord cells (B is also the Pencil tool's shortcut:
# while chord cells are picked, the chord lane gets it first).
CHORD_KEYS = {getattr(Qt.Key, f"Key_{c}"): c for c in "ABCDEFGN"}


@dataclass
class _Drag:
    kind: str  # "region" | "move" | "draw" | "chords"
    origin: QPointF
    current: QPointF
    lane: int
    d_tick: int = 0
    d_pitch: int = 0
    key: NoteKey | None = None  # the note under the press (select tool: picked if the drag never starts)
    note: Note | None = None  # the note being drawn (pencil tool)


class PianoRollCanvas(QWidget):
    """The drawing surface. Geometry: ``px_per_tick`` horizontally, ``lane_height`` pixels per track."""

    viewChanged = Signal()
    notesMoved = Signal(object, int, int)  # (set[NoteKey], d_tick, d_pitch)
    noteAdded = Signal(int, object)  # (track, Note)
    playheadMoved = Signal(int)
    contextMenuRequested = Signal(QPoint)
    chordMenuRequested = Signal(QPoint)  # right-click in the chord lane (global position)
    chordEditRequested = Signal(str)  # type a chord over the picked cells, starting with this text
    toolChanged = Signal(str)  # "select" | "pencil" (also sent when the snap changes)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.px_per_tick = 0.05
        self.lane_height = 96
        self.scroll_tick = 0.0
        self.scroll_y = 0
        self._drag: _Drag | None = None
        self._fit_pending = False
        self._raster_buf: np.ndarray | None = None
        self.tool = "select"
        self.snap: Snap = DEFAULT_SNAP
        self.chord_resolution = DEFAULT_RESOLUTION  # cells of the chord lane: "beat" | "half_bar" | "bar"
        self._range_cache: dict[int, tuple[tuple, tuple[int, int]]] = {}
        self._same_cache: dict[tuple[int, int], tuple] = {}
        self.last_paint_notes = 0  # notes drawn in the last frame (for the bench and tests)
        self.last_paint_ghosts = 0  # ghost notes of the song drawn under an auditioned variation
        self.last_chord_labels: list[tuple[str, float]] = []  # (text drawn, width of its cell) in the last frame
        self.setMinimumSize(320, HEADER_H + 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._font = QFont(self.font())
        self._font.setPointSizeF(8.5)

    # ------------------------------------------------------------------------------------ geometry
    def tracks(self) -> list:
        return self.doc.displayed_score().tracks

    def content_ticks(self) -> int:
        score = self.doc.displayed_score()
        return max(score.end_tick, bar_tick(self.doc.grid, self.doc.n_bars())) + 2 * 4 * score.ticks_per_beat

    def content_height(self) -> int:
        return len(self.tracks()) * self.lane_height

    def x_of(self, tick: float) -> float:
        return (tick - self.scroll_tick) * self.px_per_tick

    def tick_of(self, x: float) -> float:
        return x / self.px_per_tick + self.scroll_tick

    def lane_top(self, lane: int) -> int:
        return HEADER_H + lane * self.lane_height - self.scroll_y

    def lane_at(self, y: float) -> int | None:
        if y < HEADER_H:
            return None
        lane = int((y - HEADER_H + self.scroll_y) // self.lane_height)
        return lane if 0 <= lane < len(self.tracks()) else None

    def pitch_range(self, lane: int) -> tuple[int, int]:
        """(low, high) pitch shown in ``lane``: the union over the song and every variation of that track,
        so the scale stays put while auditioning one take after another (issue 18, item 8)."""
        doc = self.doc
        tracks = [s.tracks[lane] for s in (doc.score, *doc.variations) if lane < len(s.tracks)]
        key = tuple(id(t) for t in tracks)
        hit = self._range_cache.get(lane)
        if hit is not None and hit[0] == key:
            return hit[1]
        ranges = [(a.pitch_lo, a.pitch_hi) for a in (doc.arrays(t) for t in tracks) if len(a.starts)] or [
            (doc.arrays(t).pitch_lo, doc.arrays(t).pitch_hi) for t in tracks[:1]
        ] or [(59, 73)]
        out = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        if len(self._range_cache) > 512:
            self._range_cache.clear()
        self._range_cache[lane] = (key, out)
        return out

    def _row_geometry(self, lane: int) -> tuple[int, int, float]:
        lo, hi = self.pitch_range(lane)
        rows = hi - lo + 1
        return hi, rows, (self.lane_height - 2 * LANE_PAD) / rows

    def pitch_at(self, lane: int, y: float) -> int:
        hi, rows, row_h = self._row_geometry(lane)
        row = int((y - self.lane_top(lane) - LANE_PAD) // row_h)
        return int(min(127, max(0, hi - min(max(row, 0), rows - 1))))

    def note_at(self, pos: QPointF) -> NoteKey | None:
        """The note under the mouse (nearest onset wins when notes overlap)."""
        lane = self.lane_at(pos.y())
        if lane is None:
            return None
        arrays = self.doc.arrays(self.tracks()[lane])
        tick = self.tick_of(pos.x())
        slack = 2 / self.px_per_tick  # two pixels of tolerance for very short notes
        sl = arrays.visible(tick - slack, tick + slack)
        pitch = self.pitch_at(lane, pos.y())
        starts, ends, pitches = arrays.starts[sl], arrays.ends[sl], arrays.pitches[sl]
        hit = np.nonzero((starts <= tick + slack) & (ends >= tick - slack) & (pitches == pitch))[0]
        if len(hit) == 0:
            return None
        best = hit[np.argmax(starts[hit])]
        return (lane, int(starts[best]), int(pitches[best]))

    def visible_ticks(self) -> tuple[float, float]:
        return self.scroll_tick, self.tick_of(self.width())

    def set_scroll(self, tick: float | None = None, y: int | None = None) -> None:
        if tick is not None:
            max_tick = max(0.0, self.content_ticks() - self.width() / self.px_per_tick)
            self.scroll_tick = float(min(max(tick, 0.0), max_tick))
        if y is not None:
            max_y = max(0, self.content_height() - (self.height() - HEADER_H))
            self.scroll_y = int(min(max(y, 0), max_y))
        self.update()
        self.viewChanged.emit()

    def set_zoom(self, px_per_tick: float, anchor_x: float | None = None) -> None:
        anchor_x = self.width() / 2 if anchor_x is None else anchor_x
        anchor_tick = self.tick_of(anchor_x)
        self.px_per_tick = float(min(max(px_per_tick, 0.0005), 2.0))
        self.set_scroll(tick=anchor_tick - anchor_x / self.px_per_tick)

    def set_lane_height(self, height: int) -> None:
        self.lane_height = int(min(max(height, 28), 480))
        self.set_scroll(y=self.scroll_y)

    def request_fit(self) -> None:
        """Fit the song once the widget has its real width (before showing, the width is a guess)."""
        if self.isVisible():
            self.zoom_to_fit()
        else:
            self._fit_pending = True

    def zoom_to_fit(self, max_bars: int = 32) -> None:
        """Show the whole song when it is short, else its first ``max_bars`` bars."""
        self._fit_pending = False
        bars = min(self.doc.n_bars(), max_bars)
        ticks = max(bar_tick(self.doc.grid, bars), 1)
        self.px_per_tick = max(self.width() - 8, 200) / ticks
        n = max(len(self.tracks()), 1)
        self.lane_height = int(min(max((self.height() - HEADER_H) // n, 72), 160))  # fill the view when few tracks
        self.set_scroll(tick=0.0, y=0)

    def set_tool(self, tool: str) -> None:
        """"select" or "pencil"; the cursor says which."""
        self.tool = "pencil" if tool == "pencil" else "select"
        self._drag = None
        self.setCursor(Qt.CursorShape.CrossCursor if self.tool == "pencil" else Qt.CursorShape.ArrowCursor)
        self.toolChanged.emit(self.tool)

    def set_snap(self, snap: Snap) -> None:
        self.snap = snap
        self.toolChanged.emit(self.tool)

    def zoom_anchor_x(self) -> float:
        """Where keyboard zoom holds still: the mouse when it is over the roll, else the middle of the
        selected region when it is in view, else the middle of the view."""
        mouse = self.mapFromGlobal(QCursor.pos())
        if self.rect().contains(mouse) and self.underMouse():
            return float(mouse.x())
        sel = self.doc.selection
        if sel is not None:
            t0, t1 = region_ticks(self.doc.grid, sel)
            x0, x1 = self.x_of(t0), self.x_of(t1)
            if x1 > 0 and x0 < self.width():
                return float(min(max((max(x0, 0) + min(x1, self.width())) / 2, 0), self.width()))
        return self.width() / 2

    def ensure_lane_visible(self, lane: int) -> None:
        """Scroll vertically just enough that ``lane`` is fully in view."""
        top = lane * self.lane_height
        view = self.height() - HEADER_H
        if top < self.scroll_y:
            self.set_scroll(y=top)
        elif top + self.lane_height > self.scroll_y + view:
            self.set_scroll(y=top + self.lane_height - view)

    def reveal_new_lanes(self) -> None:
        """An auditioned variation that adds tracks (an added instrument): bring the first new lane into view."""
        n_song, n_shown = len(self.doc.score.tracks), len(self.tracks())
        if n_shown > n_song:
            self.ensure_lane_visible(n_song)

    def ensure_tick_visible(self, tick: int) -> None:
        t0, t1 = self.visible_ticks()
        if not t0 <= tick <= t1:
            self.set_scroll(tick=tick - (t1 - t0) * 0.1)

    # ---------------------------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt naming
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), theme.BG)
            p.setFont(self._font)
            self._paint_lanes(p)
            self._paint_grid(p)
            self._paint_selection(p)
            self._paint_notes(p)
            self._paint_header(p)
            self._paint_playhead(p)
            self._paint_drag(p)
        finally:
            p.end()

    def _visible_lanes(self) -> range:
        n = len(self.tracks())
        first = max(0, self.scroll_y // self.lane_height)
        last = min(n, (self.scroll_y + self.height() - HEADER_H) // self.lane_height + 1)
        return range(first, last)

    def _paint_lanes(self, p: QPainter) -> None:
        w = self.width()
        for lane in self._visible_lanes():
            top = self.lane_top(lane)
            p.fillRect(QRect(0, top, w, self.lane_height), theme.LANE_A if lane % 2 == 0 else theme.LANE_B)
            color = theme.track_color(lane)
            color.setAlpha(18)
            p.fillRect(QRect(0, top, w, self.lane_height), color)
            p.setPen(theme.LANE_LINE)
            p.drawLine(0, top + self.lane_height - 1, w, top + self.lane_height - 1)

    def _bar_ticks_visible(self) -> list[tuple[int, int]]:
        """(bar index, tick) of every bar line in view, continuing past the grid's end."""
        t0, t1 = self.visible_ticks()
        grid = self.doc.grid
        first = max(bar_at_tick(grid, t0), 0)
        out = []
        bar = first
        while True:
            tick = bar_tick(grid, bar)
            if tick > t1 or len(out) > 4000:
                break
            out.append((bar, tick))
            bar += 1
        return out

    def _paint_grid(self, p: QPainter) -> None:
        h = self.height()
        t0, t1 = self.visible_ticks()
        beats = self.doc.grid.beat_ticks
        tpb = self.doc.displayed_score().ticks_per_beat
        if tpb * self.px_per_tick >= 6:
            i0, i1 = np.searchsorted(beats, [t0, t1])
            p.setPen(theme.BEAT_LINE)
            for tick in beats[i0:i1]:
                x = int(self.x_of(float(tick)))
                p.drawLine(x, HEADER_H, x, h)
            if len(beats) and t1 > beats[-1]:  # beats past the grid's end
                tick = float(beats[-1])
                while tick <= t1:
                    tick += tpb
                    x = int(self.x_of(tick))
                    p.drawLine(x, HEADER_H, x, h)
        bars = self._bar_ticks_visible()
        step = max(1, int(math.ceil(40 / max(self._bar_px(), 1e-6))))  # thin out bar lines when zoomed far out
        p.setPen(theme.BAR_LINE)
        for bar, tick in bars:
            if bar % step == 0:
                x = int(self.x_of(tick))
                p.drawLine(x, HEADER_H, x, h)

    def _bar_px(self) -> float:
        return 4 * self.doc.displayed_score().ticks_per_beat * self.px_per_tick

    def selection_lanes(self) -> list[int]:
        """The lanes the region's outline covers. Tracks an auditioned variation adds ("+ Brass") are part
        of the region it answers, so they are outlined too (issue 18, item 4)."""
        sel = self.doc.selection
        if sel is None:
            return []
        n = len(self.tracks())
        lanes = list(range(n)) if sel.tracks is None else [t for t in sel.tracks if t < n]
        return lanes + [t for t in range(len(self.doc.score.tracks), n) if t not in lanes]

    def chord_rect(self, span: tuple[int, int]) -> QRect:
        """Where ticks [start, end) sit in the chord lane (widget coordinates), for the chord editor."""
        x0, x1 = self.x_of(span[0]), self.x_of(span[1])
        return QRect(int(x0), RULER_H, max(int(x1 - x0), 1), CHORD_H)

    def _paint_selection(self, p: QPainter) -> None:
        sel = self.doc.selection
        if sel is None:
            return
        t0, t1 = region_ticks(self.doc.grid, sel)
        x0, x1 = self.x_of(t0), self.x_of(t1)
        lanes = self.selection_lanes()
        for lane in lanes:
            rect = QRectF(x0, self.lane_top(lane), x1 - x0, self.lane_height)
            p.fillRect(rect, theme.SELECTION_FILL)
        # Outline each contiguous run of lanes as one rectangle.
        runs: list[list[int]] = []
        for lane in sorted(lanes):
            if runs and runs[-1][-1] == lane - 1:
                runs[-1].append(lane)
            else:
                runs.append([lane])
        p.setPen(QPen(theme.SELECTION_EDGE, 1.5, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        for run in runs:
            top = self.lane_top(run[0])
            p.drawRect(QRectF(x0, top, x1 - x0, len(run) * self.lane_height - 1))

    def _same_notes(self, a, b) -> bool:  # noqa: ANN001 - Track, Track
        """Whether two tracks hold the same notes (cached by identity: the engine returns copies of the
        tracks it left alone, and ghosts on those would only clutter the roll)."""
        if a is b:
            return True
        key = (id(a), id(b))
        hit = self._same_cache.get(key)
        if hit is None or hit[0] is not a or hit[1] is not b:
            if len(self._same_cache) > 256:
                self._same_cache.clear()
            hit = (a, b, a.notes == b.notes)
            self._same_cache[key] = hit
        return hit[2]

    def _paint_ghosts(self, p: QPainter) -> None:
        """Under an auditioned variation, the song's own notes of each changed lane as faint outlines."""
        self.last_paint_ghosts = 0
        if self.doc.preview_index is None:
            return
        t0, t1 = self.visible_ticks()
        shown, song = self.tracks(), self.doc.score.tracks
        p.setBrush(Qt.BrushStyle.NoBrush)
        for lane in self._visible_lanes():
            if lane >= len(song) or self._same_notes(song[lane], shown[lane]):
                continue
            arrays = self.doc.arrays(song[lane])
            sl = arrays.visible(t0, t1)
            if sl.stop <= sl.start:
                continue
            hi, _rows, row_h = self._row_geometry(lane)
            top = self.lane_top(lane) + LANE_PAD
            starts, ends, pitches = arrays.starts[sl], arrays.ends[sl], arrays.pitches[sl]
            xs = (starts - self.scroll_tick) * self.px_per_tick
            ws = np.maximum((ends - starts) * self.px_per_tick - 1, 1.5)
            ys = top + (hi - pitches) * row_h
            h = max(row_h - 1, 1.5)
            p.setPen(QPen(theme.GHOST, 1, Qt.PenStyle.DashLine))
            p.drawRects([QRectF(float(x), float(y), float(w), h) for x, y, w in zip(xs, ys, ws, strict=True)])
            self.last_paint_ghosts += len(xs)

    def _paint_notes(self, p: QPainter) -> None:
        self._paint_ghosts(p)
        t0, t1 = self.visible_ticks()
        drawn = 0
        tracks = self.tracks()
        show_picks = self.doc.preview_index is None
        width = self.width()
        for lane in self._visible_lanes():
            arrays = self.doc.arrays(tracks[lane])
            sl = arrays.visible(t0, t1)
            count = sl.stop - sl.start
            if count <= 0:
                continue
            drawn += count
            color = theme.track_color(lane)
            hi, rows, row_h = self._row_geometry(lane)
            top = self.lane_top(lane) + LANE_PAD
            starts, ends, pitches = arrays.starts[sl], arrays.ends[sl], arrays.pitches[sl]
            if count > RASTER_THRESHOLD:
                self._raster_lane(p, starts, ends, pitches, hi, rows, row_h, top, width, color)
                continue
            xs = (starts - self.scroll_tick) * self.px_per_tick
            ws = np.maximum((ends - starts) * self.px_per_tick - 1, 1.5)
            ys = top + (hi - pitches) * row_h
            h = max(row_h - 1, 1.5)
            vel = arrays.velocities[sl]
            fill = QColor(color)
            border = color.darker(170)
            p.setPen(QPen(border, 1) if row_h >= 4 and self.px_per_tick * 120 > 3 else Qt.PenStyle.NoPen)
            # Two brightness levels by velocity are enough to read dynamics without a per-note QColor.
            loud = vel >= 80
            for mask, shade in ((loud, fill), (~loud, fill.darker(125))):
                p.setBrush(shade)
                idx = np.nonzero(mask)[0]
                p.drawRects([QRectF(float(xs[i]), float(ys[i]), float(ws[i]), h) for i in idx])
            self._paint_marks(p, lane, starts, pitches, xs, ws, ys, h, show_picks)
        self.last_paint_notes = drawn

    def _paint_marks(self, p, lane, starts, pitches, xs, ws, ys, h, show_picks) -> None:  # noqa: ANN001
        """Outline picked notes in white and locked notes in gold (with a small bar at their start)."""
        locked = [k for k in self.doc.locked if k[0] == lane]
        picked = [k for k in self.doc.selected_notes if k[0] == lane] if show_picks else []
        if not locked and not picked:
            return
        index = {(int(s), int(q)): i for i, (s, q) in enumerate(zip(starts.tolist(), pitches.tolist(), strict=True))}
        p.setBrush(Qt.BrushStyle.NoBrush)
        for keys, pen in ((locked, QPen(theme.LOCK, 2)), (picked, QPen(theme.NOTE_PICKED, 2))):
            p.setPen(pen)
            for _, start, pitch in keys:
                i = index.get((start, pitch))
                if i is not None:
                    p.drawRect(QRectF(float(xs[i]), float(ys[i]), float(ws[i]), h))
                    if pen.color() == theme.LOCK:
                        p.fillRect(QRectF(float(xs[i]) - 1, float(ys[i]) - 2, 4, h + 4), theme.LOCK)

    def _raster_lane(self, p, starts, ends, pitches, hi, rows, row_h, top, width, color) -> None:  # noqa: ANN001
        """Draw a dense lane as an image: per pitch row, +1 at each note's first pixel and -1 past its
        last, a cumulative sum gives coverage; rows are then stretched to the lane's pixel height."""
        w1 = width + 1
        x0 = np.clip(np.floor((starts - self.scroll_tick) * self.px_per_tick).astype(np.int64), 0, width)
        x1 = np.clip(np.ceil((ends - self.scroll_tick) * self.px_per_tick).astype(np.int64), 0, width)
        x1 = np.maximum(x1, np.minimum(x0 + 1, width))
        r = (hi - pitches).astype(np.int64)
        size = rows * w1
        cov = np.bincount(r * w1 + x0, minlength=size)[:size] - np.bincount(r * w1 + x1, minlength=size)[:size]
        mask = np.cumsum(cov.reshape(rows, w1), axis=1)[:, :width] > 0
        lane_px = int(self.lane_height - 2 * LANE_PAD)
        row_of_px = np.minimum((np.arange(lane_px) / row_h).astype(np.int64), rows - 1)
        # Leave a one-pixel gap between rows when rows are tall enough, as the vector path does.
        gap = ((np.arange(lane_px) + 1) % max(row_h, 1)) < 1 if row_h >= 4 else np.zeros(lane_px, bool)
        pix = mask[row_of_px] & ~gap[:, None]
        img = np.zeros((lane_px, width, 4), dtype=np.uint8)
        img[pix] = (color.blue(), color.green(), color.red(), 255)
        self._raster_buf = img  # keep the buffer alive while QPainter reads it
        qimg = QImage(img.data, width, lane_px, width * 4, QImage.Format.Format_ARGB32)
        p.drawImage(QPoint(0, int(top)), qimg)

    def _paint_header(self, p: QPainter) -> None:
        w = self.width()
        p.fillRect(QRect(0, 0, w, RULER_H), theme.RULER_BG)
        p.fillRect(QRect(0, RULER_H, w, CHORD_H), theme.CHORD_BG)
        p.setPen(theme.LANE_LINE)
        p.drawLine(0, HEADER_H - 1, w, HEADER_H - 1)
        bars = self._bar_ticks_visible()
        step = max(1, int(math.ceil(36 / max(self._bar_px(), 1e-6))))
        for bar, tick in bars:
            if bar % step:
                continue
            x = int(self.x_of(tick))
            p.setPen(theme.BAR_LINE)
            p.drawLine(x, 0, x, RULER_H)
            p.setPen(theme.TEXT)
            p.drawText(QRect(x + 3, 0, 60, RULER_H), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, str(bar + 1))
        sel = self.doc.selection
        if sel is not None:
            t0, t1 = region_ticks(self.doc.grid, sel)
            p.fillRect(QRectF(self.x_of(t0), RULER_H - 4, self.x_of(t1) - self.x_of(t0), 4), theme.SELECTION_EDGE)
        chords, source = self.doc.chords_of(self.doc.displayed_score())
        if not chords:
            p.setPen(theme.TEXT_DIM)
            p.drawText(QRect(6, RULER_H, w - 12, CHORD_H), Qt.AlignmentFlag.AlignVCenter, f"Chords: {source}")
            self._paint_chord_marks(p, sel)
            return
        t0, t1 = self.visible_ticks()
        metrics = p.fontMetrics()
        self.last_chord_labels = []
        previous = None
        p.setPen(theme.TEXT)
        for chord in chords:
            if chord.end < t0 or chord.start > t1:
                continue
            x0, x1 = self.x_of(chord.start), self.x_of(chord.end)
            rect = QRectF(x0 + 1, RULER_H + 2, max(x1 - x0 - 2, 1), CHORD_H - 4)
            if chord.root is not None:  # a no-chord span stays the lane's own colour
                p.fillRect(rect, QColor("#343a44"))
            same = previous is not None and (previous.root, previous.quality) == (chord.root, chord.quality)
            previous = chord
            if same:  # a repeated chord is not labelled again
                continue
            room = rect.width() - 6
            # Full name, else shorthand (E°, CΔ), else the root, else nothing: never a clipped "Ed".
            text = chord_text(chord, lambda t, room=room: metrics.horizontalAdvance(t) <= room)
            if text is not None:
                p.setPen(theme.TEXT if chord.root is not None else theme.TEXT_DIM)
                p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
                self.last_chord_labels.append((text, room))
        self._paint_chord_marks(p, sel)

    def _paint_chord_marks(self, p: QPainter, sel: RegionSelection | None) -> None:
        """The picked chord cells (filled) and a region that includes the chord lane (outlined)."""
        span = self.doc.chord_span
        if span is not None:
            fill = QColor(theme.SELECTION_EDGE)
            fill.setAlpha(70)
            rect = QRectF(self.chord_rect(span)).adjusted(0.5, 1.5, -0.5, -1.5)
            p.fillRect(rect, fill)
            p.setPen(QPen(theme.SELECTION_EDGE, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
        if sel is not None and sel.chords:
            t0, t1 = region_ticks(self.doc.grid, sel)
            p.setPen(QPen(theme.SELECTION_EDGE, 1.5, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.x_of(t0), RULER_H + 1, self.x_of(t1) - self.x_of(t0), CHORD_H - 2))

    def _paint_playhead(self, p: QPainter) -> None:
        x = self.x_of(self.doc.playhead)
        if 0 <= x <= self.width():
            p.setPen(QPen(theme.PLAYHEAD, 2))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def _paint_drag(self, p: QPainter) -> None:
        d = self._drag
        if d is None:
            return
        if d.kind == "region":
            rect = QRectF(d.origin, d.current).normalized()
            p.setPen(QPen(theme.SELECTION_EDGE, 1, Qt.PenStyle.DashLine))
            p.setBrush(theme.SELECTION_FILL)
            p.drawRect(rect)
            sel = self._region_from_drag(d)
            if sel is not None:
                p.setPen(theme.TEXT)
                p.drawText(rect.topLeft() + QPointF(4, -4), sel.describe(self.doc.track_names()))
        elif d.kind == "draw" and d.note is not None:
            hi, _rows, row_h = self._row_geometry(d.lane)
            y = self.lane_top(d.lane) + LANE_PAD + (hi - d.note.pitch) * row_h
            p.setPen(QPen(theme.NOTE_PICKED, 1))
            p.setBrush(QColor(255, 255, 255, 90))
            p.drawRect(QRectF(self.x_of(d.note.start), y, max(d.note.duration * self.px_per_tick, 2), max(row_h - 1, 2)))
        elif d.kind == "move" and (d.d_tick or d.d_pitch):
            p.setPen(QPen(theme.NOTE_PICKED, 1, Qt.PenStyle.DashLine))
            p.setBrush(QColor(255, 255, 255, 60))
            for lane, start, pitch in self.doc.selected_notes:
                if lane >= len(self.tracks()):
                    continue
                hi, _rows, row_h = self._row_geometry(lane)
                arrays = self.doc.arrays(self.tracks()[lane])
                i = np.nonzero((arrays.starts == start) & (arrays.pitches == pitch))[0]
                if len(i) == 0:
                    continue
                dur = int(arrays.ends[i[0]] - start)
                x = self.x_of(start + d.d_tick)
                y = self.lane_top(lane) + LANE_PAD + (hi - (pitch + d.d_pitch)) * row_h
                p.drawRect(QRectF(x, y, max(dur * self.px_per_tick, 2), max(row_h - 1, 2)))

    # ------------------------------------------------------------------------------------- mouse
    def _editable(self) -> bool:
        return self.doc.preview_index is None

    def _region_from_drag(self, d: _Drag) -> RegionSelection | None:
        """Bars × lanes under the rubber band; it includes the chords when one end is in the chord lane
        (or above it)."""
        grid = self.doc.grid
        ta, tb = sorted((self.tick_of(d.origin.x()), self.tick_of(d.current.x())))
        bar0, bar1 = bar_at_tick(grid, max(ta, 0)), bar_at_tick(grid, max(tb, 0)) + 1
        n = len(self.doc.score.tracks)
        if n == 0:
            return None
        la = self.lane_at(min(max(d.origin.y(), HEADER_H), self.height() - 1))
        lb = self.lane_at(min(max(d.current.y(), HEADER_H), self.height() - 1))
        la = n - 1 if la is None else min(la, n - 1)
        lb = n - 1 if lb is None else min(lb, n - 1)
        lo, hi = sorted((la, lb))
        tracks = None if (lo == 0 and hi == n - 1) else tuple(range(lo, hi + 1))
        chords = min(d.origin.y(), d.current.y()) < HEADER_H
        return RegionSelection(bar0, max(bar1, bar0 + 1), tracks, chords)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self.setFocus()
        if pos.y() < RULER_H:
            if event.button() == Qt.MouseButton.LeftButton:
                self.playheadMoved.emit(max(int(self.tick_of(pos.x())), 0))
            return
        if pos.y() < HEADER_H:
            self._chord_press(event)
            return
        if self.doc.chord_span is not None:
            self.doc.set_chord_span(None)  # working on notes again
        key = self.note_at(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if key is not None and key not in self.doc.selected_notes and self._editable():
                self.doc.set_selected_notes({key})
            self.contextMenuRequested.emit(event.globalPosition().toPoint())
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        lane = self.lane_at(pos.y())
        lane_i = lane if lane is not None else 0
        if self.tool == "pencil" and self._editable() and lane is not None and lane < len(self.doc.score.tracks):
            if key is not None:  # the pencil moves the note it grabs
                self._pick(key, event.modifiers())
                self._drag = _Drag("move", pos, pos, lane_i, key=key)
            else:
                self._drag = _Drag("draw", pos, pos, lane_i, note=self._note_at_click(lane, pos))
        else:  # the select tool: a drag always selects, wherever it starts
            self._drag = _Drag("region", pos, pos, lane_i, key=key if self._editable() else None)
        self.update()

    def _chord_press(self, event: QMouseEvent) -> None:
        """A press in the chord lane: left starts picking cells (or a region, if the drag goes down into the
        tracks); right picks the cell under the mouse unless it is already picked, and asks for the menu."""
        pos = event.position()
        tick = max(self.tick_of(pos.x()), 0.0)
        if event.button() == Qt.MouseButton.RightButton:
            span = self.doc.chord_span
            if self._editable() and (span is None or not span[0] <= tick < span[1]):
                self.doc.set_chord_span(cell_at(self.doc.grid, tick, self.chord_resolution))
            self.chordMenuRequested.emit(event.globalPosition().toPoint())
        elif event.button() == Qt.MouseButton.LeftButton:
            self._drag = _Drag("chords", pos, pos, 0)
            if self._editable():
                anchor = tick
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.doc.chord_span is not None:
                    anchor = float(self.doc.chord_span[0])  # Shift+click extends the picked cells
                    self._drag.origin = QPointF(self.x_of(anchor), pos.y())
                self.doc.set_chord_span(span_between(self.doc.grid, anchor, tick, self.chord_resolution))
        self.update()

    def _pick(self, key: NoteKey, modifiers) -> None:  # noqa: ANN001
        picked = set(self.doc.selected_notes)
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            picked ^= {key}
        elif key not in picked:
            picked = {key}
        self.doc.set_selected_notes(picked)

    def _note_at_click(self, lane: int, pos: QPointF) -> Note:
        """A new note where the pencil clicks: start on the snap grid, one snap step long, velocity 90."""
        grid = self.doc.grid
        start = snap_tick(grid, max(self.tick_of(pos.x()), 0.0), self.snap, "floor")
        length = step_ticks(grid, start, self.snap, self.doc.score.ticks_per_beat)
        return Note(start, start + length, self.pitch_at(lane, pos.y()), 90)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        d = self._drag
        if d is None:
            return
        d.current = event.position()
        if d.kind == "chords" and self._editable() and d.current.y() < HEADER_H:
            ta, tb = max(self.tick_of(d.origin.x()), 0.0), max(self.tick_of(d.current.x()), 0.0)
            self.doc.set_chord_span(span_between(self.doc.grid, ta, tb, self.chord_resolution))
        elif d.kind == "move":
            d.d_tick = snap_delta(self.doc.grid, self.tick_of(d.origin.x()), self.tick_of(d.current.x()), self.snap)
            if self.lane_at(d.origin.y()) is not None:
                d.d_pitch = self.pitch_at(d.lane, d.current.y()) - self.pitch_at(d.lane, d.origin.y())
        elif d.kind == "draw" and d.note is not None:
            grid = self.doc.grid
            end = snap_tick(grid, max(self.tick_of(d.current.x()), 0.0), self.snap, "nearest")
            step = step_ticks(grid, d.note.start, self.snap, self.doc.score.ticks_per_beat)
            d.note = Note(d.note.start, max(end, d.note.start + step), d.note.pitch, d.note.velocity)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        d, self._drag = self._drag, None
        if d is None:
            return
        d.current = event.position()
        moved_px = (d.current - d.origin).manhattanLength()
        if d.kind == "chords":
            if d.current.y() >= HEADER_H and moved_px > 4:  # dragged from the chord lane into the tracks
                self.doc.set_chord_span(None)
                self.doc.set_selection(self._region_from_drag(d))
        elif d.kind == "move":
            if (d.d_tick or d.d_pitch) and self.doc.selected_notes:
                self.notesMoved.emit(set(self.doc.selected_notes), d.d_tick, d.d_pitch)
        elif d.kind == "draw":
            if d.note is not None:
                self.noteAdded.emit(d.lane, d.note)
        elif moved_px > 4:
            self.doc.set_chord_span(None)
            self.doc.set_selection(self._region_from_drag(d))
        elif d.key is not None:  # a click on a note picks it
            self._pick(d.key, event.modifiers())
        else:
            self.doc.set_selected_notes(set())
            self.doc.set_selection(None)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Double-click an empty spot to draw a note with either tool."""
        pos = event.position()
        if RULER_H <= pos.y() < HEADER_H and event.button() == Qt.MouseButton.LeftButton and self._editable():
            self._drag = None
            tick = max(self.tick_of(pos.x()), 0.0)
            span = self.doc.chord_span
            if span is None or not span[0] <= tick < span[1]:
                self.doc.set_chord_span(cell_at(self.doc.grid, tick, self.chord_resolution))
            self.chordEditRequested.emit("")
            return
        lane = self.lane_at(pos.y())
        if lane is None or not self._editable() or self.note_at(pos) is not None or lane >= len(self.doc.score.tracks):
            return
        self._drag = None
        self.noteAdded.emit(lane, self._note_at_click(lane, pos))

    def _chord_key(self, event: QKeyEvent) -> str | None:
        """The text a key press starts a chord symbol with, when chord cells are picked (else None)."""
        if self.doc.chord_span is None or not self._editable():
            return None
        mods = event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier & ~Qt.KeyboardModifier.KeypadModifier
        if mods:
            return None
        key = Qt.Key(event.key())
        if key in CHORD_KEYS:
            return CHORD_KEYS[key]
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            return ""
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        text = self._chord_key(event)
        if text is not None:
            self.chordEditRequested.emit(text)
            event.accept()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and self._chord_key(event) is not None:
            event.accept()  # the chord lane takes B, C ... and Enter before the window's shortcuts do
            return True
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def tooltip_at(self, pos: QPointF) -> str:
        """Name, bar.beat, length and velocity of the note under ``pos`` ("" when there is none); over the
        chord lane, the chord there and how to change it."""
        if RULER_H <= pos.y() < HEADER_H:
            from app.document import chord_name
            from engine.analysis.chords import chord_at

            chord = chord_at(self.doc.chords_of(self.doc.displayed_score())[0], int(max(self.tick_of(pos.x()), 0)))
            name = chord_name(chord) if chord is not None else "no chord"
            return f"{name}  ·  click or drag to pick cells, then type a chord (or double-click, right-click for more)"
        key = self.note_at(pos)
        if key is None:
            return ""
        lane, start, pitch = key
        track = self.tracks()[lane]
        note = next((n for n in track.notes if n.start == start and n.pitch == pitch), None)
        return "" if note is None else describe_note(self.doc.grid, note, track.is_drum)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120.0
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier and mods & Qt.KeyboardModifier.ShiftModifier:
            self.set_lane_height(int(self.lane_height * (1.15**steps)))
        elif mods & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.px_per_tick * (1.2**steps), event.position().x())
        elif mods & Qt.KeyboardModifier.ShiftModifier or delta.x():
            self.set_scroll(tick=self.scroll_tick - steps * 80 / self.px_per_tick)
        else:
            self.set_scroll(y=self.scroll_y - int(steps * self.lane_height / 2))
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        if self._fit_pending:
            self.zoom_to_fit()
        self.viewChanged.emit()


class PianoRollView(QWidget):
    """The canvas with its keyboard strip, velocity lane and two scroll bars, kept in step with the canvas."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.keyboard_strip import KeyboardStrip  # these two read the canvas's geometry: imported here
        from app.velocity_lane import VelocityLane  # to keep the module graph one-way

        self.canvas = PianoRollCanvas(document, self)
        self.keyboard = KeyboardStrip(self.canvas, self)
        self.velocity = VelocityLane(self.canvas, self)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vbar = QScrollBar(Qt.Orientation.Vertical, self)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.keyboard, 0, 0)
        layout.addWidget(self.canvas, 0, 1)
        layout.addWidget(self.vbar, 0, 2)
        layout.addWidget(self.velocity, 1, 1)
        layout.addWidget(self.hbar, 2, 1)
        self._syncing = False
        self.canvas.viewChanged.connect(self._sync_bars)
        self.hbar.valueChanged.connect(self._on_hbar)
        self.vbar.valueChanged.connect(self._on_vbar)

    def snap_box_for(self, parent: QWidget) -> QComboBox:
        """The toolbar's Snap chooser, kept in step with the canvas (and the Edit ▸ Snap menu)."""
        box = QComboBox(parent)
        box.addItems([s.label for s in SNAPS])
        box.setToolTip("Snap to grid: where drawn and moved notes land")
        box.setCurrentIndex(SNAPS.index(self.canvas.snap))
        box.currentIndexChanged.connect(lambda i: self.canvas.set_snap(SNAPS[i]))

        def follow(_tool: str) -> None:
            box.blockSignals(True)
            box.setCurrentIndex(SNAPS.index(self.canvas.snap))
            box.blockSignals(False)

        self.canvas.toolChanged.connect(follow)
        return box

    def _sync_bars(self) -> None:
        c = self.canvas
        self._syncing = True
        try:
            total_px = int(c.content_ticks() * c.px_per_tick)
            self.hbar.setRange(0, max(0, total_px - c.width()))
            self.hbar.setPageStep(max(c.width(), 1))
            self.hbar.setSingleStep(40)
            self.hbar.setValue(int(c.scroll_tick * c.px_per_tick))
            self.vbar.setRange(0, max(0, c.content_height() - (c.height() - HEADER_H)))
            self.vbar.setPageStep(max(c.height() - HEADER_H, 1))
            self.vbar.setSingleStep(max(c.lane_height // 4, 4))
            self.vbar.setValue(c.scroll_y)
        finally:
            self._syncing = False

    def _on_hbar(self, value: int) -> None:
        if not self._syncing:
            self.canvas.set_scroll(tick=value / self.canvas.px_per_tick)

    def _on_vbar(self, value: int) -> None:
        if not self._syncing:
            self.canvas.set_scroll(y=value)
