"""Undo commands: one QUndoCommand per user action, each swapping whole (score, locks) states.

Because scores are immutable values that share unchanged tracks, storing "before" and "after" costs a
few list references, and undo can never drift out of step with redo the way inverse operations can.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from app.document import Document, NoteKey
from engine.score import Score


class ReplaceStateCommand(QUndoCommand):
    """The one command every edit uses: set the document to ``after``; undo restores ``before``."""

    def __init__(
        self,
        document: Document,
        text: str,
        after: Score,
        locked_after: frozenset[NoteKey] | None = None,
        selected_after: set[NoteKey] | None = None,
    ) -> None:
        super().__init__(text)
        self.document = document
        self.before = (document.score, document.locked)
        self.after = (after, document.locked if locked_after is None else locked_after)
        self.selected_before = set(document.selected_notes)
        self.selected_after = selected_after

    def redo(self) -> None:
        self.document.set_state(*self.after)
        if self.selected_after is not None:
            self.document.set_selected_notes(self.selected_after)

    def undo(self) -> None:
        self.document.set_state(*self.before)
        self.document.set_selected_notes({k for k in self.selected_before if self.document.has_note(k)})


class AcceptVariationCommand(ReplaceStateCommand):
    """Accepting a variation replaces the song; the variations list stays so another can be tried."""

    def __init__(self, document: Document, index: int) -> None:
        seed = document.variation_seeds[index] if index < len(document.variation_seeds) else None
        label = f"Accept variation {index + 1}" + (f" (seed {seed})" if seed is not None else "")
        # Locks on notes that the variation no longer has are dropped; the rest carry over.
        after = document.variations[index]
        super().__init__(document, label, after)
        self.index = index

    def redo(self) -> None:
        super().redo()
        locked = frozenset(k for k in self.document.locked if self.document.has_note(k))
        if locked != self.document.locked:
            self.document.set_state(self.document.score, locked)
