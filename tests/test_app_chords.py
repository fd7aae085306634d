"""Issue 16 in the editor: an editable chord lane (item 1), regions that include the chord lane (item 2),
Song ▸ Add Bars (item 4); and issue 15 item 5: load/write warnings, and the lossless round trip through
the window (open a real-kind file, regenerate, accept, export, compare with mido; save, reopen, export).
"""

# ruff: noqa: F811 - the window fixtures are imported from tests/test_app_window.py and requested by name

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mido
import pytest
from PySide6.QtCore import QPoint, Qt

from app.backends import EngineBackend
from app.chord_lane import (
    ChordClip,
    cell_at,
    cells_in,
    copy_chords,
    detect_in_span,
    merge_neighbours,
    paste_chords,
    set_chord,
    set_chord_text,
    span_between,
)
from app.document import InfillRequest, ProjectState, RegionSelection, region_ticks
from app.piano_roll import CHORD_H, RULER_H
from engine.analysis.chord_edit import chords_in, replace_chords
from engine.analysis.chords import detect_chords
from engine.analysis.grid import beat_grid
from engine.midi_compare import Region, compare_outside
from engine.midi_io import read_midi
from engine.score import ChordLabel, Score
from tests import midi_kinds as kinds
from tests.midi_fixtures import pop_band, waltz, write
from tests.test_app_window import Boxes, FakeBackend, boxes, make_window, regenerate_and_wait, song  # noqa: F401

BAR = 1920  # pop_band and midi_kinds: 4/4 at 480 ticks a beat
CHORD_Y = RULER_H + CHORD_H // 2


def real(chords: list[ChordLabel]) -> list[tuple[int, int, int, str]]:
    """The chords that sound (N.C. dropped, neighbours merged): what a MIDI file's markers can say."""
    return [(c.start, c.end, c.root, c.quality) for c in merge_neighbours(chords) if c.root is not None]


def at(chords: list[ChordLabel], tick: int) -> tuple[int | None, str] | None:
    hit = chords_in(chords, tick, tick + 1)
    return (hit[0].root, hit[0].quality) if hit else None


def chord_x(canvas, tick: int) -> int:  # noqa: ANN001
    return int(canvas.x_of(tick))


class ChordBackend(FakeBackend):
    """The fake backend, plus what a chord-writing model does when the region includes the chord lane:
    the region's chords become F#m, bar by bar (from the detected chords when the song has none)."""

    def infill(self, request: InfillRequest, progress, cancel) -> list[Score]:  # noqa: ANN001
        out = super().infill(request, progress, cancel)
        if not request.selection.chords:
            return out
        grid = beat_grid(request.score)
        t0, t1 = region_ticks(grid, request.selection)
        base = list(request.score.chords) or detect_chords(request.score, grid)
        return [replace(s, chords=replace_chords(base, t0, t1, [ChordLabel(t0, t1, 6, "m")])) for s in out]


class FillingBackend(FakeBackend):
    """Fills the region of every selected track with one note per beat (for bars that were empty)."""

    def infill(self, request: InfillRequest, progress, cancel) -> list[Score]:  # noqa: ANN001
        from engine.score import Note

        self.calls.append(request)
        grid = beat_grid(request.score)
        t0, t1 = region_ticks(grid, request.selection)
        tracks = []
        for i, track in enumerate(request.score.tracks):
            if request.selection.covers_track(i) and not track.is_drum:
                track = replace(track, notes=[*track.notes, *(Note(t, t + 400, 60 + i, 80) for t in range(t0, t1, 480))])
            tracks.append(track)
        return [replace(request.score, tracks=tracks)]


# ------------------------------------------------------------------------------------- pure chord edits
def test_cells_follow_the_grid_at_each_resolution() -> None:
    grid = beat_grid(pop_band(4))
    assert cell_at(grid, 2500, "bar") == (BAR, 2 * BAR)
    assert cell_at(grid, 2500, "half_bar") == (BAR, BAR + 960)
    assert cell_at(grid, 2500, "beat") == (2400, 2880)
    assert span_between(grid, 3000, 100, "beat") == (0, 3360)
    assert cells_in(grid, 0, BAR, "half_bar") == [(0, 960), (960, BAR)]
    waltz_grid = beat_grid(waltz(4))  # 3/4: a half bar is two beats from the bar line, then one
    assert cells_in(waltz_grid, 0, 1440, "half_bar") == [(0, 960), (960, 1440)]
    with pytest.raises(ValueError, match="resolution"):
        cell_at(grid, 0, "quaver")


def test_set_copy_paste_and_unknown_symbols() -> None:
    grid = beat_grid(pop_band(8))
    base = [ChordLabel(b * BAR, (b + 1) * BAR, r, "") for b, r in enumerate([0, 7, 9, 5] * 2)]
    edited = set_chord_text(base, BAR, 2 * BAR, "Dm7")
    assert at(edited, BAR) == (2, "m7") and at(edited, 0) == (0, "") and at(edited, 2 * BAR) == (9, "")
    same = set_chord(edited, 2 * BAR, 3 * BAR, 2, "m7")  # a repeated chord is one label held on
    assert [c for c in same if c.root == 2] == [ChordLabel(BAR, 3 * BAR, 2, "m7")]
    with pytest.raises(ValueError, match="unknown chord 'H7'"):
        set_chord_text(base, 0, BAR, "H7")
    clip = copy_chords(base[:1] + base[2:], grid, 0, 2 * BAR)  # bar 2 has no label: copied as N.C.
    assert clip == ChordClip(64, ((0, 32, 0, ""), (32, 64, None, "")))
    pasted, covered = paste_chords(base, grid, clip, 4 * BAR)
    assert covered == (4 * BAR, 6 * BAR)
    assert at(pasted, 4 * BAR) == (0, "") and at(pasted, 5 * BAR) == (None, "") and at(pasted, 6 * BAR) == (9, "")
    assert paste_chords(base, grid, clip, 7 * BAR)[1] == (7 * BAR, 8 * BAR)  # cut at the song's end


def test_detect_in_span_matches_the_whole_song_detection_and_leaves_the_rest() -> None:
    score = pop_band(8)
    grid = beat_grid(score)
    whole = detect_chords(score, grid, "half_bar")
    wrong = [ChordLabel(0, 8 * BAR, 4, "")]  # E everywhere
    fixed = detect_in_span(score, grid, wrong, 2 * BAR + 960, 4 * BAR, "half_bar")
    assert chords_in(fixed, 2 * BAR + 960, 4 * BAR) == chords_in(merge_neighbours(whole), 2 * BAR + 960, 4 * BAR)
    assert at(fixed, 3 * BAR) == (5, "")  # bar 4 of C-G-Am-F
    assert at(fixed, 2 * BAR) == (4, "") and at(fixed, 5 * BAR) == (4, "")  # outside: as it was


# --------------------------------------------------------------------------------- the lane in the window
def test_type_a_chord_in_the_lane_with_undo_and_redo(make_window, song: Path, qtbot, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas, doc = window.canvas, window.doc
    window.chords.set_resolution("bar")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)  # window shortcuts (B = Pencil) need an active window
    shown, source = doc.chords
    assert source == "detected" and doc.score.chords == []
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(chord_x(canvas, 2 * BAR + 300), CHORD_Y))
    assert doc.chord_span == (2 * BAR, 3 * BAR)
    assert window.doc.selection is None and doc.playhead == 0  # the chord lane is not the ruler
    qtbot.keyClick(canvas, Qt.Key.Key_D)  # typing a root opens the editor with it
    picker = window.chords.picker
    assert picker.isVisible() and picker.lineEdit().text() == "D"
    qtbot.keyClicks(picker.lineEdit(), "m7")
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert at(doc.score.chords, 2 * BAR) == (2, "m7")
    # every other bar keeps the chords the lane showed before the edit
    assert chords_in(doc.score.chords, 0, 2 * BAR) == chords_in(shown, 0, 2 * BAR)
    assert chords_in(doc.score.chords, 3 * BAR, 8 * BAR) == chords_in(shown, 3 * BAR, 8 * BAR)
    assert doc.chords[1] == "annotated"
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == "Set chord Dm7 (bar 3)"
    window.undo_stack.undo()
    assert doc.score.chords == [] and doc.chords == (shown, "detected")
    window.undo_stack.redo()
    assert at(doc.score.chords, 2 * BAR) == (2, "m7")
    # a symbol the vocabulary lacks is refused with a message; nothing changes
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    assert picker.isVisible() and picker.lineEdit().text() == "Dm7"
    picker.lineEdit().setText("Hm")
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    assert picker.isVisible() and "unknown chord 'Hm'" in window.statusBar().currentMessage()
    assert window.undo_stack.count() == 1
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Escape)
    assert not picker.isVisible() and not boxes.shown
    # B is the Pencil tool's key, but with chord cells picked it starts a chord (Bb, Bm7 ...)
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert picker.isVisible() and picker.lineEdit().text() == "B" and canvas.tool == "select"
    qtbot.keyClicks(picker.lineEdit(), "b")
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    assert at(doc.score.chords, 2 * BAR) == (10, "") and window.undo_stack.count() == 2
    window.escape()  # no cells picked: B is the Pencil again
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert canvas.tool == "pencil" and not picker.isVisible()


def test_drag_beats_choose_from_the_menu_copy_paste_delete(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas, doc, chords = window.canvas, window.doc, window.chords
    chords.resolution_actions["beat"].trigger()
    assert canvas.chord_resolution == "beat" and window.settings.chord_resolution() == "beat"
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(chord_x(canvas, 700), CHORD_Y))
    qtbot.mouseMove(canvas, QPoint(chord_x(canvas, 1200), CHORD_Y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(chord_x(canvas, 1200), CHORD_Y))
    assert doc.chord_span == (480, 1440)  # beats 2-3 of bar 1
    menu = chords.build_menu(window)
    set_menu = next(a.menu() for a in menu.actions() if a.text() == "Set Chord")
    g_menu = next(a.menu() for a in set_menu.actions() if a.text() == "G")
    next(a for a in g_menu.actions() if a.text() == "G7").trigger()
    assert at(doc.score.chords, 480) == (7, "7") and at(doc.score.chords, 1439) == (7, "7")
    assert at(doc.score.chords, 0) == (0, "") and at(doc.score.chords, 1440) == (0, "")
    # copy bar 1, paste at bar 5
    chords.resolution_actions["bar"].trigger()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(chord_x(canvas, 100), CHORD_Y))
    window.act_copy_chords.trigger()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(chord_x(canvas, 4 * BAR + 100), CHORD_Y))
    window.act_paste_chords.trigger()
    assert chords_in(doc.score.chords, 4 * BAR, 5 * BAR) == [
        ChordLabel(4 * BAR + c.start, 4 * BAR + c.end, c.root, c.quality) for c in chords_in(doc.score.chords, 0, BAR)]
    assert doc.chord_span == (4 * BAR, 5 * BAR)
    # Delete with chord cells picked: N.C. there, and no note is deleted
    notes_before = [t.notes for t in doc.score.tracks]
    window.act_delete.trigger()
    assert at(doc.score.chords, 4 * BAR + 10) == (None, "")
    assert [t.notes for t in doc.score.tracks] == notes_before
    assert [window.undo_stack.text(i) for i in range(window.undo_stack.count())] == [
        "Set chord G7 (1.2–1.3)", "Paste chords (bar 5)", "Delete chords (bar 5)"]
    # Esc drops the picked cells; Delete then deletes notes again
    window.escape()
    assert doc.chord_span is None
    doc.set_chord_span((0, BAR))
    window.edits.track_clicked(2, Qt.KeyboardModifier.NoModifier)  # choosing a track drops the picked cells
    assert doc.chord_span is None
    window.act_delete.trigger()
    assert doc.score.tracks[2].notes == [] and at(doc.score.chords, 10) is not None


def test_detect_chords_refills_the_picked_cells_from_the_notes(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    doc, chords = window.doc, window.chords
    doc.set_chord_span((0, 4 * BAR))
    assert chords.type_chord("E")
    doc.set_chord_span((BAR, 2 * BAR))
    window.act_detect_chords.trigger()
    assert at(doc.score.chords, BAR + 10) == (7, "")  # bar 2 of C-G-Am-F is G again
    assert at(doc.score.chords, 10) == (4, "") and at(doc.score.chords, 3 * BAR) == (4, "")
    assert window.undo_stack.undoText() == "Detect chords (bar 2)"
    # with no cells picked, the region's bars are refilled
    doc.set_chord_span(None)
    doc.set_selection(RegionSelection(2, 4, (1,)))
    assert chords.detect()
    assert at(doc.score.chords, 2 * BAR + 10) == (9, "m") and at(doc.score.chords, 3 * BAR + 10) == (5, "")


def test_edited_chords_survive_save_reopen_export_and_reimport(make_window, song: Path, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    doc = window.doc
    doc.set_chord_span((2 * BAR, 3 * BAR))
    window.chords.type_chord("Bbmaj7")
    doc.set_chord_span((3 * BAR, 3 * BAR + 960))
    window.chords.type_chord("N.C.")
    edited = list(doc.score.chords)
    assert window.save_project_as(tmp_path / "song.pdsproj")
    assert window.open_file(tmp_path / "song.pdsproj")
    assert doc.score.chords == edited and doc.chords[1] == "annotated"
    out = tmp_path / "out.mid"
    assert window.export_midi(out)
    markers = [m.text for t in mido.MidiFile(out).tracks for m in t if m.type == "marker"]
    assert "Chord: Bbmaj7" in markers and "Chord: N.C." in markers
    assert real(read_midi(out).chords) == real(edited)
    assert window.open_file(out)
    assert real(doc.score.chords) == real(edited) and at(doc.score.chords, 2 * BAR) == (10, "maj7")


# ------------------------------------------------------------------------ regions that include the chords
def test_a_region_dragged_into_the_chord_lane_regenerates_chords(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    backend = ChordBackend()
    window = make_window(backend)
    window.open_file(song)
    canvas, doc = window.canvas, window.doc
    start = QPoint(chord_x(canvas, 2 * BAR + 100), canvas.lane_top(1) + 20)
    end = QPoint(chord_x(canvas, 3 * BAR + 100), CHORD_Y)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)
    assert doc.selection == RegionSelection(2, 4, (0, 1), chords=True)
    assert window.prompt_panel.chords.isChecked() and "+ chords" in window.status_selection.text()
    shown = doc.chords[0]
    regenerate_and_wait(qtbot, window)
    assert backend.calls[-1].selection.chords is True
    assert at(doc.variations[0].chords, 2 * BAR) == (6, "m")
    assert at(canvas.doc.chords_of(doc.displayed_score())[0], 3 * BAR) == (6, "m")  # the lane shows the take's chords
    window.accept_variation(0)
    assert at(doc.score.chords, 2 * BAR) == (6, "m") and at(doc.score.chords, 3 * BAR + 1000) == (6, "m")
    assert chords_in(doc.score.chords, 0, 2 * BAR) == chords_in(shown, 0, 2 * BAR)
    window.undo_stack.undo()
    assert doc.score.chords == []
    # the checkbox takes the chords out again; a region drawn only over the tracks has none
    window.prompt_panel.chords.setChecked(False)
    assert doc.selection.chords is False
    regenerate_and_wait(qtbot, window)
    assert backend.calls[-1].selection.chords is False and doc.variations[0].chords == []
    p, q = QPoint(chord_x(canvas, 100), canvas.lane_top(0) + 20), QPoint(chord_x(canvas, BAR + 100), canvas.lane_top(1) + 20)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(canvas, q)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=q)
    assert doc.selection == RegionSelection(0, 2, (0, 1)) and not window.prompt_panel.chords.isChecked()
    # and one from the chord lane down into the tracks has them
    p, q = QPoint(chord_x(canvas, 100), CHORD_Y), QPoint(chord_x(canvas, BAR + 100), canvas.lane_top(2) + 20)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=p)
    qtbot.mouseMove(canvas, q)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=q)
    assert doc.selection == RegionSelection(0, 2, (0, 1, 2), chords=True) and doc.chord_span is None
    # the project keeps a region's chords flag
    state = ProjectState.from_json(doc.project_state().to_json())
    assert state.selection == doc.selection


@pytest.fixture(scope="module")
def tiny_models():  # noqa: ANN201
    from tests.model_fixtures import plausible_model

    plain = plausible_model()
    return plain, replace(plain, writes_chords=True)


def engine_backend(model) -> EngineBackend:  # noqa: ANN001
    backend = EngineBackend()
    backend._model = model  # a tiny untrained model stands in for the bundled weights
    return backend


def test_regenerating_the_chord_lane_rewrites_the_regions_chords(make_window, song: Path, qtbot, boxes: Boxes, tiny_models) -> None:  # noqa: ANN001
    plain, chordwise = tiny_models
    # a model not trained to write chords: the harmoniser chooses them from the melody, and only there
    window = make_window(engine_backend(plain))
    window.open_file(song)
    shown = window.doc.chords[0]
    window.doc.set_selection(RegionSelection(2, 4, (1,), chords=True))
    window.doc.set_prompts(replace(window.doc.prompts, n_variations=1, steps=2))
    regenerate_and_wait(qtbot, window)
    errors = boxes.of("critical")
    assert not errors
    take = window.doc.variations[0]
    assert chords_in(take.chords, 0, 2 * BAR) == chords_in(shown, 0, 2 * BAR)
    assert chords_in(take.chords, 4 * BAR, 8 * BAR) == chords_in(shown, 4 * BAR, 8 * BAR)
    assert all(c.root is not None for c in chords_in(take.chords, 2 * BAR, 4 * BAR))
    # a model trained for it writes the region's chords (untrained here, so whatever it samples), and only there
    window2 = make_window(engine_backend(chordwise))
    window2.open_file(song)
    shown = window2.doc.chords[0]
    window2.doc.set_selection(RegionSelection(2, 4, (1,), chords=True))
    window2.doc.set_prompts(replace(window2.doc.prompts, n_variations=1, steps=2))
    regenerate_and_wait(qtbot, window2)
    take = window2.doc.variations[0]
    assert take.chords, "the engine returned the song's chords with the region's rewritten"
    assert chords_in(take.chords, 0, 2 * BAR) == chords_in(shown, 0, 2 * BAR)
    assert chords_in(take.chords, 4 * BAR, 8 * BAR) == chords_in(shown, 4 * BAR, 8 * BAR)
    assert len(boxes.of("critical")) == len(errors)


# ---------------------------------------------------------------------------------------- add bars
def test_add_bars_then_regenerate_there(make_window, song: Path, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    backend = FillingBackend()
    window = make_window(backend)
    window.open_file(song)
    doc = window.doc
    assert doc.n_bars() == 8
    assert window.edits.add_bars(4)
    assert doc.n_bars() == 12 and doc.selection == RegionSelection(8, 12, None)
    assert window.undo_stack.undoText() == "Add 4 bars"
    window.undo_stack.undo()
    assert doc.n_bars() == 8
    window.undo_stack.redo()
    assert doc.n_bars() == 12
    doc.set_selection(RegionSelection(8, 12, (1, 2)))
    regenerate_and_wait(qtbot, window)
    assert backend.calls[-1].selection == RegionSelection(8, 12, (1, 2))
    window.accept_variation(0)
    assert any(n.start >= 8 * BAR for n in doc.score.tracks[1].notes)
    assert not any(n.start >= 8 * BAR for n in doc.score.tracks[0].notes)
    # chords can be typed over the new bars too
    doc.set_chord_span((10 * BAR, 11 * BAR))
    assert window.chords.type_chord("Am")
    assert at(doc.score.chords, 10 * BAR) == (9, "m")


def test_add_bars_reaches_the_real_engine(make_window, song: Path, tmp_path: Path, qtbot, tiny_models) -> None:  # noqa: ANN001
    window = make_window(engine_backend(tiny_models[0]))
    window.open_file(song)
    window.edits.add_bars(2)
    assert window.save_project_as(tmp_path / "longer.pdsproj") and window.open_file(tmp_path / "longer.pdsproj")
    assert window.doc.n_bars() == 10  # the project keeps the added bars
    window.doc.set_selection(RegionSelection(8, 10, (1,)))
    window.doc.set_prompts(replace(window.doc.prompts, n_variations=1, steps=2))
    regenerate_and_wait(qtbot, window)
    take = window.doc.variations[0]
    assert any(n.start >= 8 * BAR for n in take.tracks[1].notes), "the model wrote notes into the added bars"
    assert take.tracks[0].notes == window.doc.score.tracks[0].notes


def test_add_bars_dialog(make_window, song: Path, monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QInputDialog

    window = make_window()
    window.open_file(song)
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (3, True)))
    window.act_add_bars.trigger()
    assert window.doc.n_bars() == 11


# --------------------------------------------------------------------------------------- file warnings
def test_load_and_write_warnings_are_a_line_not_a_box_per_warning(make_window, tmp_path: Path, qtbot, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window()
    odd = tmp_path / "odd.mid"
    odd.write_bytes(kinds.odd_events())
    assert window.open_file(odd)
    what, warnings = window.doc.file_warnings
    assert what == "Reading odd.mid" and len(warnings) == 1 and "key signature" in warnings[0]
    line = window.song_info.warnings
    assert line.isVisible() and line.text() == "⚠ 1 warning reading odd.mid…"
    assert "1 warning" in window.statusBar().currentMessage()
    line.click()
    assert "key signature" in _dialog_text(window)
    assert not boxes.shown  # no modal box
    # a clean file clears the line
    clean = write(pop_band(4), tmp_path, "clean.mid")
    assert window.open_file(clean)
    assert not window.song_info.warnings.isVisible() and window.doc.file_warnings[1] == []
    # export tells what could not be written as asked: 16 parts + 1 new one run out of channels
    full = tmp_path / "full.mid"
    full.write_bytes(kinds.gm_16_channels())
    assert window.open_file(full)
    window.add_track("STRINGS")
    from engine.score import Note

    window.edits.add_note(len(window.doc.score.tracks) - 1, Note(0, 480, 60, 90))
    assert window.export_midi(tmp_path / "full-out.mid")
    what, warnings = window.doc.file_warnings
    assert what == "Writing full-out.mid" and "channels are taken" in warnings[0]
    assert window.song_info.warnings.text() == "⚠ 1 warning writing full-out.mid…"
    assert "with 1 warning" in window.statusBar().currentMessage() and not boxes.shown


def _dialog_text(window) -> str:  # noqa: ANN001
    from PySide6.QtWidgets import QPlainTextEdit

    return window.warnings_dialog.findChild(QPlainTextEdit).toPlainText()


# ------------------------------------------------------------------------------ lossless through the window
@pytest.mark.parametrize("kind", ["karaoke", "controllers_and_bends"])
def test_regenerate_accept_export_keeps_every_event_outside_the_region(kind: str, make_window, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    data = getattr(kinds, kind)()
    path = tmp_path / f"{kind}.mid"
    path.write_bytes(data)
    window = make_window()
    assert window.open_file(path)
    doc = window.doc
    assert doc.file_warnings[1] == []
    target = 0  # the piano: lyrics on it (karaoke), pedal, volume and pan (controllers_and_bends)
    doc.set_selection(RegionSelection(2, 4, (target,)))
    doc.set_prompts(replace(doc.prompts, n_variations=1))
    regenerate_and_wait(qtbot, window)
    window.accept_variation(0)
    assert doc.score.tracks[target].notes != read_midi(data).tracks[target].notes  # the region did change
    out = tmp_path / "out.mid"
    assert window.export_midi(out)
    written = out.read_bytes()
    src = doc.score.tracks[target].source
    assert src is not None
    cmp = compare_outside(data, written, [Region(src[0], src[1], 2 * BAR, 4 * BAR)])
    assert cmp.ok, cmp.summary()
    assert cmp.n_notes > 0 and cmp.n_events > 0
    assert not compare_outside(data, written, []).ok  # without the region exemption, the change shows
    # a saved and reopened project writes the same bytes
    assert window.save_project_as(tmp_path / "song.pdsproj")
    assert window.open_file(tmp_path / "song.pdsproj")
    again = tmp_path / "again.mid"
    assert window.export_midi(again)
    assert again.read_bytes() == written


def test_a_chord_edit_adds_chord_markers_and_nothing_else(make_window, tmp_path: Path) -> None:  # noqa: ANN001
    """The karaoke kind has a "Verse" marker, lyrics and text: a chord edit adds "Chord: ..." markers only."""
    data = kinds.karaoke()
    path = tmp_path / "karaoke.mid"
    path.write_bytes(data)
    window = make_window()
    assert window.open_file(path)
    window.doc.set_chord_span((BAR, 2 * BAR))
    assert window.chords.type_chord("Em")
    first = tmp_path / "first.mid"
    assert window.export_midi(first)
    cmp = compare_outside(data, first.read_bytes())
    assert not cmp.events_lost and not cmp.notes_lost and not cmp.notes_added and not cmp.program_changed
    assert cmp.events_added and all("Chord: " in e for e in cmp.events_added)
    # re-open the exported file, change one chord: its markers are replaced, not added to
    assert window.open_file(first) and window.doc.chords[1] == "annotated"
    window.doc.set_chord_span((BAR, 2 * BAR))
    assert window.chords.type_chord("E7")
    second = tmp_path / "second.mid"
    assert window.export_midi(second)
    markers = [m.text for t in mido.MidiFile(second).tracks for m in t if m.type == "marker"]
    assert "Verse" in markers and "Chord: E7" in markers and "Chord: Em" not in markers
    assert real(read_midi(second).chords) == real(window.doc.score.chords)
