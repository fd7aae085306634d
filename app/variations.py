"""The variations list: audition each result (it shows in the roll and plays), then accept one.

Selecting a row previews that variation without changing the song; "Accept" is the only step that edits
the document (through an undo command), so trying variations can never lose work.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

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
                item = QListWidgetItem(f"Variation {i + 1}   ·   seed {seed}   ·   {diff} notes changed")
                item.setData(Qt.ItemDataRole.UserRole, i)
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
