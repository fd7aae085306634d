"""Issue 18, items 8, 9 and 15-17 (the basics a DAW user reaches for), and a newcomer's walk through the window.

Snap, pencil, velocity lane, tooltips, keyboard strip, song strip with tempo/meter edits, beat maps, the
shortcuts table, ghost notes, a pitch scale that holds still between variations, and chord labels that fit.
"""

# ruff: noqa: F811 - the window fixtures are imported from tests/test_app_window.py and requested by name

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.document import RegionSelection
from app.music_text import bar_beat, chord_text, describe_note, key_name, note_name
from app.snap import SNAPS, snap_by_label, snap_tick, step_ticks
from engine.analysis.grid import beat_grid
from engine.midi_io import read_midi
from engine.score import ChordLabel, Note
from tests.midi_fixtures import pop_band, write
from tests.test_app_editor_fixes import AddingBackend
from tests.test_app_window import Boxes, all_notes, boxes, make_window, regenerate_and_wait, song  # noqa: F401


def note_point(canvas, lane: int, note: Note, into: int = 100) -> QPoint:  # noqa: ANN001
    hi, _rows, row_h = canvas._row_geometry(lane)
    return QPoint(int(canvas.x_of(note.start + into)), int(canvas.lane_top(lane) + 3 + (hi - note.pitch + 0.5) * row_h))


# ------------------------------------------------------------------------------------ 15. snap
def test_snap_lands_on_bars_beats_subdivisions_and_triplets() -> None:
    grid = beat_grid(pop_band(4))  # 4/4, 480 ticks a beat
    s = snap_by_label
    assert snap_tick(grid, 130, s("1/16")) == 120
    assert snap_tick(grid, 700, s("Beat"), "floor") == 480 and snap_tick(grid, 700, s("Beat")) == 480
    assert snap_tick(grid, 1000, s("Bar")) == 1920 and snap_tick(grid, 1000, s("Bar"), "floor") == 0
    assert snap_tick(grid, 170, s("1/8 triplet")) == 160 and snap_tick(grid, 90, s("1/16 triplet")) == 80
    assert snap_tick(grid, 171, s("Off")) == 171
    assert [step_ticks(grid, 0, x, 480) for x in SNAPS] == [1920, 480, 240, 120, 160, 80, 120]
    assert snap_tick(grid, 9 * 1920 + 100, s("Bar")) == 9 * 1920  # past the grid's end, bars carry on


def test_pencil_draws_on_the_snap_grid_with_undo(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    window.act_tool_pencil.trigger()
    assert canvas.tool == "pencil"
    window.snap_box.setCurrentIndex(window.snap_box.findText("Beat"))
    assert canvas.snap.label == "Beat"
    n_bass = len(window.doc.score.tracks[2].notes)
    before = set(window.doc.score.tracks[2].notes)
    x, y = int(canvas.x_of(7 * 1920 + 700)), canvas.lane_top(2) + 10
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    notes = window.doc.score.tracks[2].notes
    assert len(notes) == n_bass + 1
    drawn = [n for n in notes if n not in before]
    assert drawn and drawn[0].end - drawn[0].start == 480  # one snap step long, at the beat under the click
    # A drag draws a longer note, snapped at both ends. The press is a few pixels into bar 7's first beat
    # (10 ticks in was under one pixel once the Regenerate dock grew, and truncated into the beat before).
    x0, x1 = int(canvas.x_of(6 * 1920 + 80)), int(canvas.x_of(6 * 1920 + 1400))
    y2 = canvas.lane_top(1) + 8
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x0, y2))
    qtbot.mouseMove(canvas, QPoint(x1, y2))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x1, y2))
    long = [n for n in window.doc.score.tracks[1].notes if n.start == 6 * 1920 and n.end == 6 * 1920 + 1440]
    assert long
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert len(window.doc.score.tracks[2].notes) == n_bass and not any(n.end == 6 * 1920 + 1440 for n in window.doc.score.tracks[1].notes)


def test_velocity_lane_edits_the_picked_notes_in_one_undo_step(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    lane = window.roll.velocity
    melody = sorted(window.doc.score.tracks[0].notes, key=lambda n: n.start)
    target, neighbour = melody[2], melody[3]
    window.doc.set_selected_notes({(0, target.start, target.pitch)})
    assert lane.focus_lane() == 0
    x = int(window.canvas.x_of(target.start))
    top = QPoint(x, 4)  # near the top: loud
    qtbot.mousePress(lane, Qt.MouseButton.LeftButton, pos=QPoint(x, lane.height() - 10))
    qtbot.mouseMove(lane, top)
    qtbot.mouseRelease(lane, Qt.MouseButton.LeftButton, pos=top)
    after = {(n.start, n.pitch): n.velocity for n in window.doc.score.tracks[0].notes}
    assert after[(target.start, target.pitch)] > 115
    assert after[(neighbour.start, neighbour.pitch)] == neighbour.velocity  # not picked: untouched
    assert window.undo_stack.count() == 1 and "velocity" in window.undo_stack.undoText()
    window.undo_stack.undo()
    assert {(n.start, n.pitch): n.velocity for n in window.doc.score.tracks[0].notes}[(target.start, target.pitch)] == target.velocity


def test_note_tooltip_keyboard_strip_and_names(make_window, song: Path) -> None:  # noqa: ANN001
    assert note_name(60) == "C4" and note_name(69) == "A4" and note_name(21) == "A0"
    grid = beat_grid(pop_band(2))
    assert bar_beat(grid, 0) == "1.1" and bar_beat(grid, 1920 + 480) == "2.2" and bar_beat(grid, 1920 + 600) == "2.2.2"
    text = describe_note(grid, Note(1920 + 480, 1920 + 720, 76, 64))
    assert text == "E5  ·  bar 2.2  ·  1/8  ·  velocity 64"
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    melody = sorted(window.doc.score.tracks[0].notes, key=lambda n: n.start)[1]
    tip = canvas.tooltip_at(QPointF(note_point(canvas, 0, melody)))
    assert tip.startswith(note_name(melody.pitch)) and "bar 1.2" in tip and f"velocity {melody.velocity}" in tip
    assert canvas.tooltip_at(QPointF(5, canvas.lane_top(0) + 2)) == ""
    window.roll.keyboard.grab()
    assert "C5" in window.roll.keyboard.last_labels  # the melody lane spans C5-G5 and more


def test_song_strip_shows_and_edits_tempo_and_meter_with_undo(make_window, song: Path) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    info = window.song_info
    assert "100 BPM" in info.tempo.text() and "4/4" in info.meter.text() and "C major" in info.key.text()
    assert key_name(pop_band(4)) == ("C major", "estimated")
    from engine.score import KeySignature, Score, Track

    assert key_name(replace(pop_band(1), key_signatures=[KeySignature(0, "Ebm")])) == ("Eb minor", "file")
    a_minor = [Note(i * 480, i * 480 + 480 * (3 if p in (57, 64) else 1), p, 80) for i, p in enumerate([57, 59, 60, 62, 64, 65, 67, 69, 64, 57, 60, 57])]
    assert key_name(Score(480, [Track("x", 0, False, a_minor)])) == ("A minor", "estimated")
    assert key_name(Score(480, [Track("d", 0, True, a_minor)]))[1] == "no notes"  # drums have no key
    assert window.edits.set_tempo(90)
    assert window.doc.score.tempos[0].bpm == 90 and "90 BPM" in info.tempo.text()
    assert window.edits.set_meter(3, 4, 0)
    assert window.doc.n_bars() >= 10 and "3/4" in info.meter.text() and "beat map" in info.grid_source.text()
    window.undo_stack.undo()
    assert window.doc.n_bars() == 8 and "4/4" in info.meter.text()
    window.undo_stack.undo()
    assert window.doc.score.tempos[0].bpm == pytest.approx(100)


def test_a_pop909_beat_map_beside_the_file_gives_the_bar_grid(make_window, tmp_path: Path) -> None:  # noqa: ANN001
    """A file that declares 2/4 for a 4/4 song: with its beat_midi.txt the editor's bars are 4/4 bars."""
    from engine.score import TimeSignature

    folder = tmp_path / "001"
    folder.mkdir()
    src = write(replace(pop_band(8), time_signatures=[TimeSignature(0, 2, 4)]), folder, "001.mid")
    window = make_window()
    window.open_file(src)
    assert window.doc.n_bars() == 16  # no beat map yet: the declared 2/4
    (folder / "beat_midi.txt").write_text("\n".join(f"{0.6 * i:.3f} {i % 4 + 1} {1.0 if i % 4 == 0 else 0.0}" for i in range(33)))
    window.open_file(src)
    assert window.doc.n_bars() in (8, 9) and "beat map" in window.song_info.grid_source.text()


def test_help_lists_the_keyboard_shortcuts(make_window) -> None:  # noqa: ANN001
    window = make_window()
    window.show_shortcuts()
    rows = dict(window.shortcuts_dialog.rows)
    assert "Zoom In" in rows and "Undo" in rows and rows["Pencil Tool"] == "B" and rows["Select Tool"] == "V"
    assert any("velocity lane" in k for k in rows)
    assert window.act_shortcuts in window.menuBar().actions()[-1].menu().actions()


# ------------------------------------------------------------------------------------ 17 and 8
def test_ghost_notes_and_a_pitch_scale_that_holds_between_variations(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    window.doc.set_selection(RegionSelection(0, 2, (0,)))
    regenerate_and_wait(qtbot, window)
    assert window.doc.preview_index == 0
    canvas.grab()
    assert canvas.last_paint_ghosts > 0  # the song's melody under the auditioned take
    drums = window.doc.score.tracks[3]
    assert canvas._same_notes(replace(drums, notes=list(drums.notes)), drums)  # an unchanged copy: no ghosts
    assert not canvas._same_notes(window.doc.variations[0].tracks[0], window.doc.score.tracks[0])
    scale0 = canvas.pitch_range(0)
    window.doc.set_preview(1)
    assert canvas.pitch_range(0) == scale0  # the lane does not rescale from take to take
    highest = max(n.pitch for v in window.doc.variations for n in v.tracks[0].notes)
    assert scale0[1] >= highest
    window.escape()
    canvas.grab()
    assert canvas.last_paint_ghosts == 0
    # Small previews in the list: one thumbnail per take, each drawn from its own notes.
    from app.variations import changed_span

    items = [window.variations_panel.list.item(i) for i in range(window.variations_panel.list.count())]
    assert all(not item.icon().isNull() for item in items)
    images = [item.icon().pixmap(120, 36).toImage() for item in items]
    assert images[0] != images[1]
    t0, t1, tracks = changed_span(window.doc.score, window.doc.variations[0])
    assert tracks == [0] and 0 <= t0 < t1 <= 2 * 1920
    assert changed_span(window.doc.score, window.doc.score) is None


# ------------------------------------------------------------------------------------ 9. chord lane
def test_chord_labels_fit_their_cells_when_zoomed_out(make_window, tmp_path: Path) -> None:  # noqa: ANN001
    """Old: full names clipped to "Ed", "Gr" at Zoom to Fit; now full name, shorthand, root, or nothing."""
    assert chord_text(ChordLabel(0, 1, 4, "dim"), lambda t: len(t) <= 2) == "E°"
    assert chord_text(ChordLabel(0, 1, 4, "m7b5"), lambda t: len(t) <= 1) == "E"
    assert chord_text(ChordLabel(0, 1, 4, "maj7"), lambda t: False) is None
    base = pop_band(32)
    qualities = ["dim", "maj7", "m7b5", "sus4"]
    chords = [ChordLabel(b * 480, (b + 1) * 480, (b * 5) % 12, qualities[b % 4]) for b in range(32 * 4)]
    window = make_window()
    window.files.set_document(replace(base, chords=chords), None, None, "chords")  # annotated chords (not in MIDI)
    assert window.doc.chords[1] == "annotated"
    canvas = window.canvas
    from PySide6.QtGui import QFontMetricsF

    metrics = QFontMetricsF(canvas._font)
    canvas.set_zoom(20 / 480)  # a beat is 20 pixels: room for "E°", not for "Edim"
    canvas.grab()
    assert canvas.last_chord_labels, "some chords are labelled"
    for text, room in canvas.last_chord_labels:
        assert metrics.horizontalAdvance(text) <= room + 0.5, text
    assert any(len(t) <= 3 for t, _room in canvas.last_chord_labels)
    canvas.set_zoom(4 / 480)  # 4 pixels a beat: no room for any label, so none is drawn
    canvas.grab()
    assert canvas.last_chord_labels == []
    canvas.set_zoom(200 / 480)
    canvas.grab()
    assert any(t.endswith(("dim", "maj7", "m7b5", "sus4")) for t, _room in canvas.last_chord_labels)  # full names again


# ------------------------------------------------------------------------------------ the walk-through
def test_a_newcomer_walks_through_the_window(make_window, song: Path, tmp_path: Path, qtbot, boxes: Boxes, monkeypatch) -> None:  # noqa: ANN001
    """open → select → add instrument → regenerate → audition → cancel → regenerate → accept → undo →
    export → open another song → regenerate, checking what the window shows at every step."""
    window = make_window(AddingBackend(step_seconds=0.005))
    panel, canvas = window.prompt_panel, window.canvas

    # Open.
    assert window.open_file(song)
    assert window.windowTitle().startswith("song.mid") and len(window.tracks_panel.rows) == 5
    assert panel.progress.format() == "Idle" and window.variations_panel.list.count() == 0
    original = window.doc.score

    # Select bars 3-4 of melody and piano with a drag (the select tool is on).
    x0, x1 = int(canvas.x_of(2 * 1920 + 100)), int(canvas.x_of(3 * 1920 + 100))
    y0, y1 = canvas.lane_top(0) + 5, canvas.lane_top(1) + 5
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x0, y0))
    qtbot.mouseMove(canvas, QPoint(x1, y1))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x1, y1))
    assert window.doc.selection == RegionSelection(2, 4, (0, 1))
    assert "bars 3–4" in panel.region.text() and "Region: bars 3–4" in window.status_selection.text()

    # Add an instrument to the region.
    panel.add_category.setCurrentIndex(panel.add_category.findText("Brass"))
    panel._add_new_track()
    assert panel.new_tracks.count() == 1 and window.doc.prompts.new_tracks == ("BRASS",)

    # Regenerate and audition.
    regenerate_and_wait(qtbot, window)
    assert window.variations_panel.list.count() == 3 and "3 variations ready" in panel.progress.format()
    assert window.doc.preview_index == 0 and window.banner.isVisible() and window.act_accept.isEnabled()
    assert len(canvas.tracks()) == 6 and 5 in canvas.selection_lanes()  # the Brass lane, outlined
    window.act_next_var.trigger()
    assert window.doc.preview_index == 1 and "variation 2 of 3" in window.banner.text()
    assert window.doc.score is original  # auditioning edits nothing

    # Regenerate again and cancel: nothing old comes back.
    window.doc.set_prompts(replace(window.doc.prompts, steps=200))
    window.regenerate()
    assert window.doc.variations == [] and window.banner.isHidden() and panel.cancel.isEnabled()
    qtbot.waitUntil(lambda: panel.progress.maximum() == 200, timeout=5000)
    window.cancel_regenerate()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=5000)
    assert panel.progress.format() == "Cancelled" and window.doc.preview_index is None
    assert not window.act_accept.isEnabled() and window.variations_panel.list.count() == 0
    assert window.doc.score is original

    # Regenerate and accept the second take.
    window.doc.set_prompts(replace(window.doc.prompts, steps=5))
    regenerate_and_wait(qtbot, window)
    window.accept_variation(1)
    accepted = window.doc.score
    assert accepted is not original and len(accepted.tracks) == 6 and accepted.tracks[5].category == "BRASS"
    assert window.isWindowModified() and "Accept variation 2" in window.tb_undo.toolTip()
    assert window.banner.isHidden() and len(window.tracks_panel.rows) == 6

    # Undo brings the song back; redo the take again.
    window.undo_stack.undo()
    assert all_notes(window.doc.score) == all_notes(original) and len(window.tracks_panel.rows) == 5
    assert not window.isWindowModified()  # undone back to the opened song: nothing left to save
    window.undo_stack.redo()
    assert window.doc.score is accepted

    # Export.
    out = tmp_path / "walk.mid"
    assert window.export_midi(out)
    assert not window.isWindowModified() and [len(t.notes) for t in read_midi(out).tracks] == [len(t.notes) for t in accepted.tracks]

    # Open another song: the old song's prompts, variations and progress are gone; preferences stay.
    window.prompt_panel.variations.setValue(2)
    other = write(pop_band(4), tmp_path, "other.mid")
    assert window.open_file(other)
    assert window.windowTitle().startswith("other.mid") and window.doc.selection is None
    assert panel.new_tracks.count() == 0 and panel.progress.format() == "Idle" and window.variations_panel.list.count() == 0
    assert panel.variations.value() == 2

    # Regenerate on the new song: no Brass track appears from the old prompt.
    window.doc.select_tracks([2])
    regenerate_and_wait(qtbot, window)
    assert window.variations_panel.list.count() == 2
    assert len(window.doc.variations[0].tracks) == len(window.doc.score.tracks) == 5
    assert not boxes.of("critical")



def test_meter_dialog_counts_the_downbeat_in_beats_and_snap_menus_agree(make_window) -> None:  # noqa: ANN001
    from app.meter_dialog import MeterDialog

    window = make_window()
    dialog = MeterDialog(window, 480)
    dialog.numerator.setValue(3)
    dialog.downbeat.setValue(2.5)
    assert dialog.values() == (3, 4, 720)  # beat 2.5 = one and a half beats = 720 ticks in
    triplet = next(a for a in window.snap_actions if a.text() == "1/8 triplet")
    triplet.trigger()
    assert window.canvas.snap.label == "1/8 triplet" and window.snap_box.currentText() == "1/8 triplet"
    window.snap_box.setCurrentIndex(window.snap_box.findText("Bar"))
    assert next(a for a in window.snap_actions if a.isChecked()).text() == "Bar"
