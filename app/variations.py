"""The variations list: audition each result (it shows in the roll and plays), then accept one.

Selecting a row previews that variation without changing the song; "Accept" is the only step that edits
the document (through an undo command), so trying variations can never lose work.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.document import Document
from engine.score import Score


def changed_notes(base: Score, variant: Score) -> int:
    """How many notes a take changed: per track, the larger of notes it added and notes it dropped.

    A note moved or re-pitched is one change, not an add plus a remove, so the count never exceeds the
    notes in the region (the old symmetric difference counted each changed note twice).
    """
    total = 0
    for i in range(max(len(base.tracks), len(variant.tracks))):
        a = set(base.tracks[i].notes) if i < len(base.tracks) else set()
        b = set(variant.tracks[i].notes) if i < len(variant.tracks) else set()
        total += max(len(b - a), len(a - b))
    return total


PREVIEW_SIZE = QSize(120, 36)


def changed_span(base: Score, variant: Score) -> tuple[int, int, list[int]] | None:
    """(first tick, last tick, tracks) of what ``variant`` changed against ``base``; None when nothing did."""
    lo, hi, tracks = None, None, []
    for i, track in enumerate(variant.tracks):
        before = set(base.tracks[i].notes) if i < len(base.tracks) else set()
        new = [n for n in track.notes if n not in before]
        gone = [n for n in before if n not in set(track.notes)]
        if new or gone:
            tracks.append(i)
            for n in new + gone:
                lo = n.start if lo is None else min(lo, n.start)
                hi = n.end if hi is None else max(hi, n.end)
    return None if lo is None or hi is None else (lo, max(hi, lo + 1), tracks)


def preview_pixmap(base: Score, variant: Score, size: QSize = PREVIEW_SIZE) -> QPixmap:
    """A thumbnail of the take: the changed span of the changed tracks, the song's notes grey beneath."""
    pix = QPixmap(size)
    pix.fill(theme.LANE_A)
    span = changed_span(base, variant)
    if span is None:
        return pix
    t0, t1, tracks = span
    notes = [(i, n, True) for i in tracks for n in variant.tracks[i].notes if n.end > t0 and n.start < t1]
    notes += [(i, n, False) for i in tracks if i < len(base.tracks) for n in base.tracks[i].notes if n.end > t0 and n.start < t1]
    pitches = [n.pitch for _i, n, _new in notes] or [60]
    p_lo, p_hi = min(pitches) - 1, max(pitches) + 1
    w, h = size.width(), size.height()
    sx, sy = w / (t1 - t0), h / (p_hi - p_lo + 1)
    painter = QPainter(pix)
    try:
        for i, n, is_new in sorted(notes, key=lambda x: x[2]):  # the song first, the take on top
            color = theme.track_color(i) if is_new else QColor(140, 145, 155, 110)
            rect = QRectF((n.start - t0) * sx, (p_hi - n.pitch) * sy, max((n.end - n.start) * sx, 1.5), max(sy, 1.5))
            painter.fillRect(rect, color)
    finally:
        painter.end()
    return pix


class VariationsPanel(QWidget):
    acceptRequested = Signal(int)
    previewRequested = Signal(object)  # int | None (None = the song as it is)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.hint = QLabel("Regenerate to get variations here.")
        self.hint.setWordWrap(True)
        self.list = QListWidget()
        self.list.setToolTip("Click to audition a variation; double-click or Accept to keep it")
        self.list.setIconSize(PREVIEW_SIZE)
        # Only a click may start an audition: with tab focus, Qt makes the first row current when the list
        # gains focus (e.g. when Regenerate is disabled), which auditioned an old request's take (issue 18).
        self.list.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.accept = QPushButton("Accept")
        self.accept.setToolTip("Replace the song with the selected variation (undoable, Ctrl+Return)")
        self.original = QPushButton("Back to song")
        self.original.setToolTip("Stop auditioning and show the song as it is (Esc)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept)
        buttons.addWidget(self.original)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.itemDoubleClicked.connect(lambda item: self.acceptRequested.emit(self.list.row(item)))
        self.accept.clicked.connect(self._accept_current)
        self.original.clicked.connect(lambda: self.previewRequested.emit(None))
        self.refresh()

    def refresh(self) -> None:
        """Rebuild rows from the document's variations and mirror its preview index."""
        self.list.blockSignals(True)
        try:
            self.list.clear()
            base = self.doc.variation_base
            for i, score in enumerate(self.doc.variations):
                seed = self.doc.variation_seeds[i] if i < len(self.doc.variation_seeds) else "?"
                diff = changed_notes(base, score) if base is not None else 0
                item = QListWidgetItem(f"Variation {i + 1}\nseed {seed} · {diff} notes changed")
                item.setData(Qt.ItemDataRole.UserRole, i)
                if base is not None:
                    item.setIcon(QIcon(preview_pixmap(base, score)))
                self.list.addItem(item)
            self.list.setCurrentRow(-1 if self.doc.preview_index is None else self.doc.preview_index)
        finally:
            self.list.blockSignals(False)
        has = bool(self.doc.variations)
        self.hint.setText(
            "Click a variation to audition it in the piano roll; Accept keeps it (undo brings the song back)."
            if has
            else "Regenerate to get variations here."
        )
        self.accept.setEnabled(has and self.doc.preview_index is not None)
        self.original.setEnabled(self.doc.preview_index is not None)

    def sync_preview(self) -> None:
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1 if self.doc.preview_index is None else self.doc.preview_index)
        self.list.blockSignals(False)
        self.accept.setEnabled(bool(self.doc.variations) and self.doc.preview_index is not None)
        self.original.setEnabled(self.doc.preview_index is not None)

    def _row_changed(self, row: int) -> None:
        self.previewRequested.emit(row if row >= 0 else None)

    def _accept_current(self) -> None:
        if self.doc.preview_index is not None:
            self.acceptRequested.emit(self.doc.preview_index)
