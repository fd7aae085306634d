"""Chord lane editing: pick cells, type or choose a chord, copy, paste, delete, detect; one undo step each.

The canvas reports gestures on the chord lane (cells picked, a key typed, a right-click); this controller
turns them into new ``score.chords`` through the pure edits of ``app.chord_lane`` and pushes one
``ReplaceStateCommand`` per edit. A song without chords of its own starts from the chords the lane shows
(detected from the notes), so editing one bar leaves every other bar as it was displayed. Edited chords
are the song's chords from then on: saved in projects and exported as "Chord: Am7" markers
(``engine.midi_document``), which the reader understands again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeyEvent
from PySide6.QtWidgets import QComboBox, QCompleter, QMenu, QWidget

from app.chord_lane import (
    RESOLUTION_LABELS,
    RESOLUTIONS,
    ChordClip,
    cell_at,
    copy_chords,
    detect_in_span,
    editable_chords,
    paste_chords,
    set_chord,
    set_chord_text,
)
from app.commands import ReplaceStateCommand
from app.document import bar_tick, chord_name
from app.music_text import bar_beat
from engine.analysis.chord_edit import all_chord_names, chords_in
from engine.analysis.chord_vocab import PITCH_CLASS_NAMES, QUALITY_NAMES
from engine.analysis.chord_vocab import chord_name as symbol
from engine.score import ChordLabel

if TYPE_CHECKING:
    from app.main_window import MainWindow


class ChordPicker(QComboBox):
    """The chord editor over the picked cells: type a symbol (completed from the vocabulary) or pick one.

    Enter commits, Esc or clicking elsewhere closes without a change."""

    def __init__(self, parent: QWidget, commit) -> None:  # noqa: ANN001 - Callable[[str], bool]
        super().__init__(parent)
        self._commit = commit
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.addItems(all_chord_names())
        self.setMaxVisibleItems(16)
        completer = QCompleter(all_chord_names(), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.setToolTip("Type a chord (C, F#m7, Bbmaj7, Gsus4, N.C.) and press Enter, or pick one; Esc cancels")
        # Return in the line edit commits; the combo also reports it as ``activated`` (Qt's editable combo
        # does), so commits only count while the editor is open: one edit, one undo step.
        self.lineEdit().returnPressed.connect(self._on_return)
        self.activated.connect(lambda i: self._commit_text(self.itemText(i)))
        self.lineEdit().installEventFilter(self)
        self.hide()

    def place(self, rect) -> None:  # noqa: ANN001 - QRect in the parent's coordinates
        """Sit over ``rect`` (the picked cells), at least wide enough for 'F#m7b5'."""
        self.setGeometry(rect.x(), rect.y() - 2, max(rect.width(), 96), max(rect.height() + 4, 24))

    def open_at(self, rect, text: str) -> None:  # noqa: ANN001 - QRect in the parent's coordinates
        self.place(rect)
        self.lineEdit().setText(text)
        self.show()
        self.raise_()
        self.lineEdit().setFocus()
        if text:
            self.lineEdit().setCursorPosition(len(text))
        else:
            self.lineEdit().selectAll()

    def _on_return(self) -> None:
        self._commit_text(self.lineEdit().text())

    def _commit_text(self, text: str) -> None:
        if self.isVisible():
            self._commit(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()  # handled by returnPressed; never passed on to the roll (it would reopen the editor)
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            event.accept()  # Esc closes the editor, not the window's Clear Selection
            return True
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            self.close_editor()
            return True
        if event.type() == QEvent.Type.FocusOut and not self.view().isVisible() and not self.completer().popup().isVisible():
            self.close_editor()
        return super().eventFilter(watched, event)

    def close_editor(self) -> None:
        if self.isVisible():
            self.hide()
            self.parentWidget().setFocus()


class ChordController(QObject):
    """Every chord-lane edit of ``window`` as one undo command, plus the lane's menu, editor and resolution."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.canvas = window.canvas
        self.clip: ChordClip | None = None
        self.picker = ChordPicker(self.canvas, self.type_chord)
        self.resolution_group = QActionGroup(self)
        self.resolution_actions: dict[str, QAction] = {}
        for res in RESOLUTIONS:
            act = QAction(RESOLUTION_LABELS[res], self, checkable=True)
            act.triggered.connect(lambda _c=False, r=res: self.set_resolution(r))
            self.resolution_group.addAction(act)
            self.resolution_actions[res] = act
        self.set_resolution(window.settings.chord_resolution(), remember=False)
        self.canvas.chordEditRequested.connect(self.open_editor)
        self.canvas.chordMenuRequested.connect(self.show_menu)
        self.canvas.viewChanged.connect(self._follow_view)

    def _follow_view(self) -> None:
        """Keep the open editor over its cells while the roll scrolls or zooms."""
        if self.picker.isVisible() and self.doc.chord_span is not None:
            self.picker.place(self.canvas.chord_rect(self.doc.chord_span))

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------------------ settings
    def set_resolution(self, resolution: str, remember: bool = True) -> None:
        """Cells of the chord lane: a beat, half a bar or a bar (remembered between sessions)."""
        if resolution not in RESOLUTIONS:
            resolution = "bar"
        self.canvas.chord_resolution = resolution
        self.resolution_actions[resolution].setChecked(True)
        if remember:
            self.window.settings.set_chord_resolution(resolution)
        self.canvas.update()

    # ------------------------------------------------------------------------------- helpers
    def _span(self, what: str) -> tuple[int, int] | None:
        """The picked chord cells, else the selected region's bars; None (and a hint) when neither."""
        if not self.window.edits.guard_preview():
            return None
        if self.doc.chord_span is not None:
            return self.doc.chord_span
        sel = self.doc.selection
        if sel is not None:
            grid = self.doc.grid
            end = min(bar_tick(grid, sel.end_bar), bar_tick(grid, grid.n_bars))
            start = bar_tick(grid, sel.start_bar)
            if end > start:
                return start, end
        self._status(f"Pick chord cells first (click or drag in the chord lane under the bar numbers) to {what}.")
        return None

    def _where(self, span: tuple[int, int]) -> str:
        """'bar 3', 'bars 3–4', or '3.3–4.2' (bar.beat of the first and the last beat) for undo texts."""
        grid = self.doc.grid
        first_bar, last_bar = cell_at(grid, span[0], "bar"), cell_at(grid, span[1] - 1, "bar")
        a, b = bar_beat(grid, span[0]), bar_beat(grid, cell_at(grid, span[1] - 1, "beat")[0])
        if first_bar[0] == span[0] and last_bar[1] == span[1]:
            n0, n1 = a.split(".")[0], b.split(".")[0]
            return f"bar {n0}" if n0 == n1 else f"bars {n0}–{n1}"
        return a if a == b else f"{a}–{b}"

    def _base(self) -> list[ChordLabel]:
        return editable_chords(self.doc.score, self.doc.chords[0])

    def _push(self, text: str, chords: list[ChordLabel]) -> None:
        if chords == list(self.doc.score.chords):
            self._status("The chords are already like that.")
            return
        self.window.undo_stack.push(ReplaceStateCommand(self.doc, text, replace(self.doc.score, chords=chords)))

    # --------------------------------------------------------------------------------- edits
    def type_chord(self, text: str) -> bool:
        """Set the picked cells to the chord ``text`` names; a symbol the vocabulary lacks is refused with
        the list of what it knows (the editor stays open to fix it)."""
        span = self._span("set a chord")
        if span is None:
            self.picker.close_editor()
            return False
        try:
            chords = set_chord_text(self._base(), span[0], span[1], text)
        except ValueError as exc:
            self.window.statusBar().showMessage(str(exc), 8000)
            self.picker.setToolTip(str(exc))
            return False
        self.picker.close_editor()
        label = chords_in(chords, span[0], span[0] + 1)
        name = chord_name(label[0]) if label else "N.C."
        self._push(f"Set chord {name} ({self._where(span)})", chords)
        return True

    def set_chord(self, root: int | None, quality: str = "") -> bool:
        span = self._span("set a chord")
        if span is None:
            return False
        self._push(f"Set chord {symbol(root, quality)} ({self._where(span)})", set_chord(self._base(), span[0], span[1], root, quality))
        return True

    def delete(self) -> bool:
        """Delete = no chord (N.C.) over the picked cells."""
        span = self._span("delete chords")
        if span is None:
            return False
        self._push(f"Delete chords ({self._where(span)})", set_chord(self._base(), span[0], span[1], None, ""))
        return True

    def copy(self) -> bool:
        span = self._span("copy chords")
        if span is None:
            return False
        self.clip = copy_chords(self._base(), self.doc.grid, *span)
        names = [symbol(r, q) for _s, _e, r, q in self.clip.items]
        self._status(f"Copied {len(names)} chord{'s' * (len(names) != 1)}: {' '.join(names[:8])}{' …' if len(names) > 8 else ''}")
        return True

    def paste(self) -> bool:
        """Paste the copied chords from the start of the picked cells (or the region)."""
        if self.clip is None:
            self._status("Nothing to paste: copy chords first (pick cells in the chord lane, Ctrl+C).")
            return False
        span = self._span("paste chords")
        if span is None:
            return False
        chords, covered = paste_chords(self._base(), self.doc.grid, self.clip, span[0])
        if covered[1] <= covered[0]:
            self._status("No room to paste here: the song ends. Song ▸ Add Bars… makes room.")
            return False
        self._push(f"Paste chords ({self._where(covered)})", chords)
        self.doc.set_chord_span(covered)
        return True

    def detect(self) -> bool:
        """Refill the picked cells (or the region's bars) with chords detected from the notes."""
        span = self._span("detect chords")
        if span is None:
            return False
        chords = detect_in_span(self.doc.score, self.doc.grid, self._base(), span[0], span[1], self.canvas.chord_resolution)
        self._push(f"Detect chords ({self._where(span)})", chords)
        return True

    # ----------------------------------------------------------------------------- widgets
    def open_editor(self, text: str = "") -> None:
        """Show the chord editor over the picked cells, starting with ``text`` (a typed root letter)."""
        span = self.doc.chord_span
        if span is None or not self.window.edits.guard_preview():
            return
        self.canvas.ensure_tick_visible(span[0])
        if not text:
            current = chords_in(self.doc.chords[0], span[0], span[0] + 1)
            text = chord_name(current[0]) if current else ""
        self.picker.open_at(self.canvas.chord_rect(span), text)

    def build_menu(self, parent: QWidget) -> QMenu:
        """The chord lane's context menu: type, choose (root ▸ quality), N.C., copy, paste, delete,
        detect, and the lane's resolution."""
        w = self.window
        menu = QMenu(parent)
        menu.addAction("Type Chord…\tEnter", lambda: self.open_editor(""))
        choose = menu.addMenu("Set Chord")
        for root, name in enumerate(PITCH_CLASS_NAMES):
            sub = choose.addMenu(name)
            for quality in QUALITY_NAMES:
                sub.addAction(symbol(root, quality), lambda r=root, q=quality: self.set_chord(r, q))
        menu.addAction("No Chord (N.C.)", lambda: self.set_chord(None))
        menu.addSeparator()
        for a in (w.act_copy_chords, w.act_paste_chords, w.act_delete_chords, w.act_detect_chords):
            menu.addAction(a)
        menu.addSeparator()
        res = menu.addMenu("Chord Resolution")
        for a in self.resolution_actions.values():
            res.addAction(a)
        return menu

    def show_menu(self, pos: QPoint) -> None:
        self.menu = self.build_menu(self.window)
        self.menu.popup(pos)

