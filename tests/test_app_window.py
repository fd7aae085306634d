"""The editor window end to end, offscreen, with a fake backend (no model) and recorded message boxes."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from app.backends import BackendUnavailable, EngineBackend
from app.document import InfillRequest, RegionSelection, notes_outside_region, region_ticks
from app.main_window import MainWindow
from app.settings import AppSettings
from engine.analysis.grid import beat_grid
from engine.midi_io import read_midi
from engine.score import Note, Score
from tests.midi_fixtures import pop_band, write


class FakeBackend:
    """Transposes the selected region by a seed-dependent interval, slowly, reporting progress.

    It honours cancel the way a real sampler would: it checks between steps and returns early.
    """

    name = "fake"

    def __init__(self, step_seconds: float = 0.0, fail: Exception | None = None) -> None:
        self.step_seconds, self.fail = step_seconds, fail
        self.calls: list[InfillRequest] = []
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def infill(self, request: InfillRequest, progress, cancel) -> list[Score]:  # noqa: ANN001
        self.calls.append(request)
        steps = request.prompts.steps
        for i in range(steps):
            if cancel():
                return []
            time.sleep(self.step_seconds)
            progress(i + 1, steps)
        if self.fail is not None:
            raise self.fail
        grid = beat_grid(request.score)
        t0, t1 = region_ticks(grid, request.selection)
        out = []
        for v in range(request.prompts.n_variations):
            shift = 1 + (request.prompts.seed + v) % 5
            tracks = []
            for i, track in enumerate(request.score.tracks):
                if request.selection.covers_track(i):
                    notes = [
                        Note(n.start, n.end, n.pitch + shift, n.velocity)
                        if t0 <= n.start < t1 and (i, n.start, n.pitch) not in request.locked
                        else n
                        for n in track.notes
                    ]
                    track = replace(track, notes=notes)
                tracks.append(track)
            out.append(replace(request.score, tracks=tracks))
        return out


class Boxes:
    """Stands in for QMessageBox's static functions: records every message, answers questions."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []
        self.answer = QMessageBox.StandardButton.No

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for kind in ("critical", "warning", "information"):
            monkeypatch.setattr(QMessageBox, kind, staticmethod(lambda parent, title, text, *a, _k=kind, **kw: self._record(_k, title, text)))
        monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda parent, title, text, *a, **kw: self._ask(title, text)))

    def _record(self, kind: str, title: str, text: str) -> QMessageBox.StandardButton:
        self.shown.append((kind, title, text))
        return QMessageBox.StandardButton.Ok

    def _ask(self, title: str, text: str) -> QMessageBox.StandardButton:
        self.shown.append(("question", title, text))
        return self.answer

    def of(self, kind: str) -> list[tuple[str, str, str]]:
        return [s for s in self.shown if s[0] == kind]


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> Boxes:
    b = Boxes()
    b.install(monkeypatch)
    return b


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return write(pop_band(8), tmp_path, "song.mid")


@pytest.fixture
def make_window(qtbot, tmp_path: Path, boxes: Boxes):  # noqa: ANN001, ANN201
    made: list[MainWindow] = []

    def make(backend=None) -> MainWindow:  # noqa: ANN001
        window = MainWindow(backend=backend or FakeBackend(), settings=AppSettings.in_file(tmp_path / "settings.ini"))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.undo_stack.setClean()
        window.shutdown()
        window.close()


def regenerate_and_wait(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    window.regenerate()
    assert window.is_busy()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10_000)


def flat(pairs) -> list[tuple[int, int, int, int, int]]:  # noqa: ANN001
    return sorted((i, n.start, n.end, n.pitch, n.velocity) for i, n in pairs)


def all_notes(score: Score) -> list[tuple[int, int, int, int, int]]:
    return flat((i, n) for i, t in enumerate(score.tracks) for n in t.notes)


def test_open_select_regenerate_accept_undo_redo_export(make_window, song: Path, tmp_path: Path, qtbot, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window()
    assert window.open_file(song)
    original = window.doc.score
    assert len(original.tracks) == 5 and window.windowTitle().startswith("song.mid")

    selection = RegionSelection(2, 4, (0, 2))  # melody and bass, bars 3-4
    window.doc.set_selection(selection)
    window.doc.locked = frozenset({(0, original.tracks[0].notes[8].start, original.tracks[0].notes[8].pitch)})
    regenerate_and_wait(qtbot, window)
    assert len(window.doc.variations) == 3 and window.doc.preview_index == 0
    assert window.variations_panel.list.count() == 3
    assert window.doc.score is original  # auditioning does not edit

    window.accept_variation(1)
    accepted = window.doc.score
    assert accepted is window.doc.variations[1] and window.doc.dirty
    grid = beat_grid(original)
    assert all_notes(accepted) != all_notes(original)
    outside = notes_outside_region(original, grid, selection)
    assert flat(outside) == flat(notes_outside_region(accepted, grid, selection))
    locked_note = original.tracks[0].notes[8]
    assert locked_note in accepted.tracks[0].notes  # the locked note survived

    window.undo_stack.undo()
    assert all_notes(window.doc.score) == all_notes(original)
    window.undo_stack.redo()
    assert all_notes(window.doc.score) == all_notes(accepted)

    out = tmp_path / "song-edited.mid"
    assert window.export_midi(out)
    assert not window.doc.dirty
    reread = read_midi(out)
    assert flat(outside) == flat(notes_outside_region(reread, beat_grid(reread), selection))
    assert [len(t.notes) for t in reread.tracks] == [len(t.notes) for t in accepted.tracks]
    assert not boxes.of("critical")


def test_regenerate_never_repeats_and_shows_progress(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    backend = FakeBackend(step_seconds=0.01)
    window = make_window(backend)
    window.open_file(song)
    window.doc.select_tracks([1])
    regenerate_and_wait(qtbot, window)
    regenerate_and_wait(qtbot, window)
    seeds = [c.prompts.seed for c in backend.calls]
    assert seeds[1] == seeds[0] + window.doc.prompts.n_variations
    assert window.prompt_panel.seed.value() == seeds[1] + window.doc.prompts.n_variations
    assert window.prompt_panel.progress.value() == 0 and "ready" in window.prompt_panel.progress.format()


def test_cancel_during_regeneration(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window(FakeBackend(step_seconds=0.05))
    window.open_file(song)
    window.doc.set_prompts(replace(window.doc.prompts, steps=200))
    window.doc.select_tracks([0])
    window.regenerate()
    qtbot.waitUntil(lambda: window.prompt_panel.progress.maximum() == 200, timeout=5000)  # it is running
    assert window.prompt_panel.cancel.isEnabled()
    qtbot.mouseClick(window.prompt_panel.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=5000)
    assert window.doc.variations == [] and window.prompt_panel.progress.format() == "Cancelled"
    assert window.prompt_panel.regenerate.isEnabled()


def test_ui_stays_responsive_while_generating(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window(FakeBackend(step_seconds=0.02))
    window.open_file(song)
    window.doc.select_tracks([0])
    window.regenerate()
    t0 = time.perf_counter()
    window.canvas.repaint()  # the GUI thread is free to paint while the worker runs
    assert time.perf_counter() - t0 < 0.5
    assert window.is_busy()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10_000)


def test_engine_error_is_shown_and_window_survives(make_window, song: Path, qtbot, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window(FakeBackend(fail=RuntimeError("CUDA out of cheese")))
    window.open_file(song)
    window.doc.select_tracks([0])
    regenerate_and_wait(qtbot, window)
    assert boxes.of("critical") and "CUDA out of cheese" in boxes.of("critical")[-1][2]
    assert window.doc.variations == [] and window.isVisible()


def test_missing_engine_gives_a_clear_message(make_window, song: Path, qtbot, boxes: Boxes, monkeypatch) -> None:  # noqa: ANN001
    def no_engine():  # noqa: ANN202
        raise BackendUnavailable("The music engine (engine.infill) is not installed in this build, so Regenerate cannot run.")

    monkeypatch.setattr(EngineBackend, "_import_engine", staticmethod(no_engine))
    window = make_window(EngineBackend())
    window.open_file(song)
    window.start_model_loading()
    qtbot.waitUntil(lambda: window.model_state == "unavailable", timeout=5000)
    window.doc.select_tracks([0])
    window.regenerate()
    assert "engine.infill" in boxes.of("critical")[-1][2]
    assert not window.is_busy()


def test_regenerate_without_selection_explains(make_window, song: Path, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    window.regenerate()
    assert boxes.of("information") and "rectangle" in boxes.of("information")[-1][2]


def test_corrupt_file_shows_error_and_keeps_document(make_window, song: Path, tmp_path: Path, boxes: Boxes) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    before = window.doc.score
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff garbage")
    assert not window.open_file(bad)
    assert boxes.of("critical") and "broken.mid" in boxes.of("critical")[-1][2]
    assert window.doc.score is before and window.doc.path == song
    not_midi = tmp_path / "notes.mid"
    not_midi.write_text("hello")
    assert not window.open_file(not_midi)
    assert window.doc.score is before


def test_export_never_overwrites_without_asking(make_window, song: Path, boxes: Boxes, monkeypatch) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    original_bytes = song.read_bytes()
    window.doc.select_tracks([0])
    window.delete_selection()
    suggested: list[Path] = []
    monkeypatch.setattr(window.files, "ask_save_path", lambda title, path, flt: suggested.append(path) or song)
    boxes.answer = QMessageBox.StandardButton.No
    assert not window.export_midi()
    assert suggested[0].name == "song-edited.mid"  # the dialog proposes a new name
    assert boxes.of("question") and "original" in boxes.of("question")[-1][2]
    assert song.read_bytes() == original_bytes
    boxes.answer = QMessageBox.StandardButton.Yes
    assert window.export_midi(song)
    assert len(read_midi(song).tracks[0].notes) == 0 or len(read_midi(song).tracks) == 4


def test_drag_and_drop_opens_a_file(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.load_demo()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(song))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.doc.path == song, timeout=3000)
    assert str(song.resolve()) in window.settings.recent_files()


def test_shortcuts_exist(make_window) -> None:  # noqa: ANN001
    window = make_window()
    wanted = {
        "Space": window.act_play,
        "Ctrl+Z": window.act_undo,
        "Ctrl+Shift+Z": window.act_redo,
        "Ctrl+O": window.act_open,
        "Ctrl+S": window.act_save,
        "Ctrl+E": window.act_export,
        "R": window.act_regenerate,
        "Del": window.act_delete,
    }
    for keys, action in wanted.items():
        assert QKeySequence(keys) in action.shortcuts(), keys
    assert window.act_play.toolTip()  # disabled Play still says why


def test_mouse_editing_with_undo(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    start = window.doc.score
    melody = start.tracks[0].notes[0]
    # Click a note to pick it, lock it with L, then drag it up and right.
    x = int(canvas.x_of(melody.start + 20))
    hi, _rows, row_h = canvas._row_geometry(0)
    y = int(canvas.lane_top(0) + 3 + (hi - melody.pitch + 0.5) * row_h)
    assert canvas.note_at(QPointF(x, y)) == (0, melody.start, melody.pitch)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert window.doc.selected_notes == {(0, melody.start, melody.pitch)}
    window.toggle_lock()
    assert (0, melody.start, melody.pitch) in window.doc.locked
    window.act_tool_pencil.trigger()  # moving notes by dragging is the pencil's job (the select tool selects)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(canvas, QPoint(x + int(480 * canvas.px_per_tick) + 1, y - int(2 * row_h)))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x + int(480 * canvas.px_per_tick) + 1, y - int(2 * row_h)))
    moved = [n for n in window.doc.score.tracks[0].notes if n.start == melody.start + 480 and n.pitch == melody.pitch + 2]
    assert moved and any(k[1] == melody.start + 480 for k in window.doc.locked)  # the lock moved with it
    # Draw a note with a double-click on an empty spot of the bass lane, then delete the picked notes.
    n_bass = len(window.doc.score.tracks[2].notes)
    bx, by = int(canvas.x_of(7 * 1920 + 240)), canvas.lane_top(2) + 10
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(bx, by))
    assert len(window.doc.score.tracks[2].notes) == n_bass + 1
    window.delete_selection()
    assert len(window.doc.score.tracks[2].notes) == n_bass
    for _ in range(4):
        window.undo_stack.undo()
    assert all_notes(window.doc.score) == all_notes(start) and not window.doc.locked


def test_rubber_band_and_track_header_selection(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    x0, x1 = int(canvas.x_of(1920 + 100)), int(canvas.x_of(3 * 1920 + 100))
    y0, y1 = canvas.lane_top(1) + 5, canvas.lane_top(2) + 5
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x0, y0))
    qtbot.mouseMove(canvas, QPoint(x1, y1))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x1, y1))
    assert window.doc.selection == RegionSelection(1, 4, (1, 2))  # snapped outwards to whole bars
    assert "bars 2–4" in window.prompt_panel.region.text()
    header = window.tracks_panel.rows[3]
    qtbot.mouseClick(header, Qt.MouseButton.LeftButton, pos=QPoint(header.width() - 10, header.height() - 5))
    assert window.doc.selection == RegionSelection(0, window.doc.n_bars(), (3,))


def test_add_track_prompt_and_track_edits_undo(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    window.add_track("BRASS")
    assert window.doc.score.tracks[-1].category == "BRASS" and len(window.tracks_panel.rows) == 6
    window.remove_track(0)
    assert window.doc.score.tracks[0].name == "Piano"
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert [t.name for t in window.doc.score.tracks] == ["Melody", "Piano", "Bass", "Drums", "Strings"]
    window.prompt_panel._add_new_track()  # default choice: strings
    assert window.doc.prompts.new_tracks == ("STRINGS",)


def test_project_save_and_reopen(make_window, song: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    window.doc.set_selection(RegionSelection(1, 2, (0,)))
    key = (0, window.doc.score.tracks[0].notes[0].start, window.doc.score.tracks[0].notes[0].pitch)
    window.doc.set_selected_notes({key})
    window.toggle_lock()
    project = tmp_path / "song.pdsproj"
    assert window.save_project_as(project)
    assert not window.doc.dirty
    other = make_window()
    assert other.open_file(project)
    assert other.doc.locked == frozenset({key}) and other.doc.selection == RegionSelection(1, 2, (0,))
    assert all_notes(other.doc.score) == all_notes(window.doc.score)


def test_settings_remember_prompts_and_recent_files(make_window, song: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    window.prompt_panel.variations.setValue(5)
    window.close()
    again = make_window()
    assert again.doc.prompts.n_variations == 5 and again.prompt_panel.variations.value() == 5
    assert str(song.resolve()) in again.settings.recent_files()


def test_large_file_opens_and_draws_fast(make_window, tmp_path: Path) -> None:  # noqa: ANN001
    from bench.editor_speed import big_score

    path = write(big_score(20_000), tmp_path, "big.mid")
    window = make_window()
    t0 = time.perf_counter()
    assert window.open_file(path)
    QApplication.processEvents()  # the new track headers get mapped, then the roll paints
    window.canvas.repaint()
    assert time.perf_counter() - t0 < 2.0  # generous: the bench holds the real 100k/0.5 s target
    assert window.canvas.last_paint_notes > 0


class FakeAudio:
    """A player that advances 100 ticks per poll, so playback can be tested without a sound card."""

    play_ok, play_reason = True, "Play / stop (Space)"
    render_ok, render_reason = False, "no synth in this test"

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.tick, self.playing = 0, False

    def play(self, score, from_tick, muted=(), soloed=(), loop=None) -> None:  # noqa: ANN001
        self.calls.append(("play", from_tick, frozenset(muted), loop))
        self.tick, self.playing = from_tick, True

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.playing = False

    def position_tick(self) -> int:
        self.tick += 100
        return self.tick

    def is_playing(self) -> bool:
        return self.playing

    def set_mix(self, muted, soloed) -> None:  # noqa: ANN001
        self.calls.append(("mix", frozenset(muted), frozenset(soloed)))

    def close(self) -> None:
        self.playing = False


def test_space_plays_the_region_on_loop_and_moves_the_playhead(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    audio = window.audio = FakeAudio()
    window._update_actions()
    window.open_file(song)
    window.doc.set_selection(RegionSelection(2, 4, (0,)))
    window.tracks_panel.rows[1].mute.click()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)  # window shortcuts need an active window
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert audio.calls[-1] == ("play", 2 * 1920, frozenset({1}), (2 * 1920, 4 * 1920))
    qtbot.waitUntil(lambda: window.doc.playhead > 2 * 1920, timeout=2000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Space)
    assert audio.calls[-1] == ("stop",) and not window.playback.timer.isActive()


def test_play_disabled_with_reason_when_no_audio(make_window) -> None:  # noqa: ANN001
    window = make_window()
    if window.audio.play_ok:
        pytest.skip("this machine has an audio device")
    assert not window.act_play.isEnabled()
    assert "unavailable" in window.act_play.toolTip().lower() or "audio" in window.act_play.toolTip().lower()


def test_render_to_wav(make_window, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    if not window.audio.render_ok:
        pytest.skip(window.audio.render_reason)
    window.load_demo()
    out = tmp_path / "demo.wav"
    assert window.render_wav(out), window.last_error
    assert out.read_bytes()[:4] == b"RIFF"


def test_worker_thread_join_in_the_finished_handler_leaves_a_stopped_thread(qtbot) -> None:  # noqa: ANN001
    """The window drops its WorkerThread in the thread's ``finished`` handler; ``join`` first makes sure the
    QThread has returned, so the object is never destroyed while its thread still runs."""
    from PySide6.QtCore import QObject, Signal

    from app.worker import WorkerThread

    class Quick(QObject):
        done = Signal()

        def run(self) -> None:
            self.done.emit()

    worker = Quick()
    job = WorkerThread(worker, [worker.done])
    seen: list[bool] = []

    def on_finished() -> None:
        job.join()
        seen.append(job.is_running())

    job.thread.finished.connect(on_finished)
    job.start()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [False]


def test_the_regenerate_panel_fits_its_dock(make_window, qtbot) -> None:  # noqa: ANN001
    """The dock has no sideways scroll bar: at its old 300 px minimum the panel's 394 px were cut off at
    the right edge, or at the left once scrolled ("rompt"; a fresh-user run)."""
    from PySide6.QtWidgets import QScrollArea

    window = make_window()
    window.load_demo()
    qtbot.wait(50)
    area = window.side_dock.findChild(QScrollArea)
    assert area.horizontalScrollBar().maximum() == 0, (area.viewport().width(), area.widget().minimumSizeHint().width())
    assert area.viewport().width() >= area.widget().minimumSizeHint().width()


def test_a_press_while_the_model_loads_says_it_waits_for_it(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    """The first press after start-up waited over a minute for the model on "Starting…" (a fresh-user run)."""
    window = make_window(FakeBackend(step_seconds=0.05))
    window.open_file(song)
    window.doc.select_tracks([1])
    window.regen.model_state = "loading"
    window.regenerate()
    assert window.prompt_panel.progress.format() == "Waiting for the model to load…"
    window.regen._on_model_loaded()
    assert window.prompt_panel.progress.format() in ("Starting…",) or window.prompt_panel.progress.maximum() > 0
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10_000)
