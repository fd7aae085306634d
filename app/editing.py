"""Selection and editing: every edit intent from the roll and the track headers becomes one undo command.

The views report gestures (notes moved, a note drawn, a header clicked); this controller checks that the
song, not an auditioned variation, is being edited and pushes one ``ReplaceStateCommand`` per action, built
from the pure edits in ``app.document``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt

from app.commands import ReplaceStateCommand
from app.document import (
    NoteKey,
    add_note,
    add_track,
    bar_tick,
    delete_notes,
    move_notes,
    remap_keys_after_track_removal,
    remove_track,
    rename_track,
    set_note_velocities,
    set_track_instrument,
)
from app.track_list import category_label
from engine.score import Note, Score

if TYPE_CHECKING:
    from app.main_window import MainWindow


class EditController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        canvas, tracks = window.canvas, window.tracks_panel
        canvas.notesMoved.connect(self.move_notes)
        canvas.noteAdded.connect(self.add_note)
        window.roll.velocity.velocitiesChanged.connect(self.set_velocities)
        tracks.trackClicked.connect(self.track_clicked)
        tracks.renamed.connect(self.rename_track)
        tracks.categoryChosen.connect(lambda i, c: self.edit_track(i, f"Set {category_label(c)}", category=c))
        tracks.programChosen.connect(lambda i, p: self.edit_track(i, "Change instrument", program=p))
        tracks.removeRequested.connect(self.remove_track)
        tracks.addRequested.connect(self.add_track)

    def _status(self, text: str, ms: int = 4000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def guard_preview(self) -> bool:
        """Edits apply to the song, not to a variation being auditioned."""
        if self.doc.preview_index is not None:
            self._status("Auditioning a variation: Accept it or go Back to song (Esc) before editing.", 6000)
            return False
        return True

    def push(self, text: str, score: Score, locked: frozenset[NoteKey] | None = None, selected: set[NoteKey] | None = None) -> None:
        self.window.undo_stack.push(ReplaceStateCommand(self.doc, text, score, locked, selected))

    # ---------------------------------------------------------------------------- notes
    def delete_selection(self) -> None:
        """Delete the picked notes, else the region's notes; with chord cells picked, their chords (N.C.)."""
        if not self.guard_preview():
            return
        if self.doc.chord_span is not None:
            self.window.chords.delete()
            return
        keys = set(self.doc.selected_notes) or self.doc.notes_in_selection()
        if not keys:
            self._status("Nothing to delete: pick notes or draw a region first.")
            return
        self.push(f"Delete {len(keys)} note{'s' * (len(keys) != 1)}", delete_notes(self.doc.score, keys), self.doc.locked - keys, set())

    def toggle_lock(self) -> None:
        if not self.guard_preview():
            return
        keys = set(self.doc.selected_notes)
        if not keys:
            self._status("Pick notes first (click, Ctrl+click), then press L to lock them.")
            return
        if keys <= self.doc.locked:
            self.push(f"Unlock {len(keys)} notes", self.doc.score, self.doc.locked - keys)
        else:
            self.push(f"Lock {len(keys)} notes", self.doc.score, self.doc.locked | keys)

    def move_notes(self, keys: set[NoteKey], d_tick: int, d_pitch: int) -> None:
        if not self.guard_preview():
            return
        score, moved = move_notes(self.doc.score, keys, d_tick, d_pitch)
        locked = frozenset(k for k in self.doc.locked if k not in keys)
        moved_locked = {(t, max(0, s + d_tick), min(127, max(0, p + d_pitch))) for t, s, p in keys & self.doc.locked}
        self.push(f"Move {len(keys)} note{'s' * (len(keys) != 1)}", score, locked | moved_locked, moved)

    def add_note(self, track: int, note: Note) -> None:
        if self.guard_preview() and 0 <= track < len(self.doc.score.tracks):
            self.push("Draw note", add_note(self.doc.score, track, note), None, {(track, note.start, note.pitch)})

    def set_velocities(self, velocities: dict) -> None:  # dict[NoteKey, int]
        if not velocities or not self.guard_preview():
            return
        n = len(velocities)
        self.push(f"Set velocity of {n} note{'s' * (n != 1)}", set_note_velocities(self.doc.score, velocities))

    # --------------------------------------------------------------------------- tracks
    def add_track(self, category: str) -> None:
        if self.guard_preview():
            self.push(f"Add {category_label(category)} track", add_track(self.doc.score, category))
            self.window.canvas.ensure_lane_visible(len(self.doc.score.tracks) - 1)

    def remove_track(self, index: int) -> None:
        if not self.guard_preview() or not 0 <= index < len(self.doc.score.tracks):
            return
        name = self.doc.track_names()[index]
        self.push(f"Remove track {name}", remove_track(self.doc.score, index), remap_keys_after_track_removal(self.doc.locked, index), set())

    def edit_track(self, index: int, text: str, category: str | None = None, program: int | None = None) -> None:
        if self.guard_preview() and index < len(self.doc.score.tracks):
            self.push(text, set_track_instrument(self.doc.score, index, category, program))

    def rename_track(self, index: int, name: str) -> None:
        if index < len(self.doc.score.tracks) and name and name != self.doc.score.tracks[index].name and self.guard_preview():
            self.push(f"Rename track to {name}", rename_track(self.doc.score, index, name))

    # ----------------------------------------------------------------------- song grid
    def set_meter(self, numerator: int, denominator: int, first_downbeat: int) -> bool:
        """Give the song a meter and first downbeat (tick): the bar grid, not the notes, changes (undoable)."""
        from engine.analysis.meter import with_meter

        if not self.guard_preview():
            return False
        try:
            score = with_meter(self.doc.score, numerator, denominator, first_downbeat)
        except ValueError as exc:
            self.window.show_error("Time signature", str(exc))
            return False
        self.doc.set_selection(None)  # bar numbers mean other music now
        self.push(f"Set meter {numerator}/{denominator}", score)
        self._status(f"Bar grid: {numerator}/{denominator}, first downbeat at beat {first_downbeat / self.doc.score.ticks_per_beat + 1:g}.")
        return True

    def set_tempo(self, bpm: float) -> bool:
        """One tempo for the whole song (undoable); notes keep their ticks, so bars and beats stay put."""
        from dataclasses import replace

        from engine.score import TempoChange

        if not self.guard_preview() or not 10 <= bpm <= 400:
            return False
        self.push(f"Set tempo {bpm:g} BPM", replace(self.doc.score, tempos=[TempoChange(0, float(bpm))]))
        return True

    def add_bars(self, n: int) -> bool:
        """Add ``n`` empty bars at the end of the song (undoable) and select them, so an outro or a
        continuation can be generated there (``engine.analysis.grid.extend_bars``)."""
        from app.document import RegionSelection
        from engine.analysis.grid import extend_bars

        if not self.guard_preview():
            return False
        try:
            score = extend_bars(self.doc.score, n)
        except ValueError as exc:
            self.window.show_error("Add bars", str(exc))
            return False
        first = self.doc.n_bars()
        self.push(f"Add {n} bar{'s' * (n != 1)}", score)
        last = self.doc.n_bars()
        if last > first:
            self.doc.set_chord_span(None)
            self.doc.set_selection(RegionSelection(first, last, None))
            self.window.canvas.ensure_tick_visible(bar_tick(self.doc.grid, first))
        self._status(f"Added {n} empty bar{'s' * (n != 1)} ({first + 1}–{last}), selected: choose instruments and Regenerate to fill them.", 8000)
        return True

    def add_bars_dialog(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        n, ok = QInputDialog.getInt(self.window, "Add Bars", "Empty bars to add at the end of the song:", 4, 1, 512, 1)
        if ok:
            self.add_bars(n)

    def set_tempo_dialog(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        tempos = self.doc.score.tempos
        bpm, ok = QInputDialog.getDouble(self.window, "Tempo", "Beats per minute for the whole song:", tempos[0].bpm if tempos else 120.0, 10, 400, 1)
        if ok:
            self.set_tempo(bpm)

    def set_meter_dialog(self) -> None:
        from app.meter_dialog import MeterDialog

        dialog = MeterDialog(self.window, self.doc.score.ticks_per_beat)
        if dialog.exec():
            self.set_meter(*dialog.values())

    # ------------------------------------------------------------------------ selection
    def track_clicked(self, index: int, modifiers) -> None:  # noqa: ANN001 - Qt.KeyboardModifier flags
        if index >= len(self.doc.score.tracks):
            return
        current = self.doc.selection
        chosen = {index}
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier) and current is not None:
            have = set(range(len(self.doc.score.tracks))) if current.tracks is None else set(current.tracks)
            chosen = have ^ {index} if modifiers & Qt.KeyboardModifier.ControlModifier else have | {index}
        self.doc.select_tracks(chosen)

    def select_all(self) -> None:
        self.doc.select_tracks(range(len(self.doc.score.tracks)))

    def escape(self) -> None:
        """Esc backs out one level: a running job, then an audition, then the selection."""
        if self.window.regen.is_busy():
            self.window.regen.cancel()
        elif self.doc.preview_index is not None:
            self.doc.set_preview(None)
        else:
            self.doc.set_chord_span(None)
            self.doc.set_selected_notes(set())
            self.doc.set_selection(None)
