"""Crash safety: autosave, the crashed-session marker, restore on the next start, and the exception hook.

Offscreen, with temporary settings and data folders, the fake backend and recorded message boxes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from app.crash import CrashHandler, QtReporter, crash_log_path
from app.document import ProjectState, RegionSelection
from app.main_window import MainWindow
from app.recovery import RecoveryStore
from app.settings import AppSettings
from engine.score import Score
from tests.midi_fixtures import pop_band, write
from tests.test_app_window import Boxes, FakeBackend


def notes(score: Score) -> list[tuple[int, int, int, int, int]]:
    return sorted((i, n.start, n.end, n.pitch, n.velocity) for i, t in enumerate(score.tracks) for n in t.notes)


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> Boxes:
    b = Boxes()
    b.install(monkeypatch)
    return b


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return write(pop_band(8), tmp_path, "song.mid")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "appdata"
    folder.mkdir()
    return folder


@pytest.fixture
def make_window(qtbot, data: Path, boxes: Boxes):  # noqa: ANN001, ANN201
    """Windows sharing one settings file, hence one data folder: like successive starts of the app."""
    made: list[MainWindow] = []

    def make(autosave_seconds: float | None = None, register: bool = True) -> MainWindow:
        settings = AppSettings.in_file(data / "settings.ini")
        if autosave_seconds is not None:
            settings.set_autosave_seconds(autosave_seconds)
        window = MainWindow(backend=FakeBackend(), settings=settings)
        if register:
            qtbot.addWidget(window)
            made.append(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window in made:
        try:
            window.undo_stack.setClean()
            window.close()
        except RuntimeError:  # already deleted (the simulated crash)
            pass


def edit(window: MainWindow) -> None:
    """A real edit through the undo stack: delete every note of bars 3-4 on the first two tracks."""
    window.doc.set_selection(RegionSelection(2, 4, (0, 1)))
    window.delete_selection()
    assert window.doc.dirty


def crash(window: MainWindow) -> None:
    """The window goes away without closeEvent, as when the process dies: the marker stays behind."""
    window.undo_stack.blockSignals(True)  # a dying process runs none of the window's code
    window.hide()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def markers(data: Path) -> list[Path]:
    return sorted((data / "recovery").glob("session-*.json"))


def autosaves(data: Path) -> list[Path]:
    return sorted((data / "recovery").glob("autosave-*.pdsproj"))


# --------------------------------------------------------------------------------------------- autosave


def test_autosave_writes_only_when_dirty(make_window, song: Path, data: Path, tmp_path: Path) -> None:  # noqa: ANN001
    window = make_window()
    assert len(markers(data)) == 1  # the session is marked as running
    original = song.read_bytes()
    assert window.open_file(song)
    assert not window.autosave() and autosaves(data) == []  # clean: nothing to protect

    edit(window)
    assert window.autosave()
    [saved] = autosaves(data)
    state = ProjectState.from_json(saved.read_bytes())  # the very format Save Project writes
    assert notes(state.score) == notes(window.doc.score)
    marker = json.loads(markers(data)[0].read_text())
    assert marker["title"] == "song.mid" and marker["autosave"] == saved.name and marker["pid"] == os.getpid()

    mtime = saved.stat().st_mtime_ns
    assert not window.autosave() and saved.stat().st_mtime_ns == mtime  # unchanged: not rewritten

    project = tmp_path / "mine.pdsproj"
    assert window.save_project_as(project)
    assert not window.doc.dirty and autosaves(data) == []  # saved: the autosave would only mislead
    assert song.read_bytes() == original  # the user's MIDI file was never written
    assert not window.autosave()


def test_autosave_timer_follows_the_setting(make_window, song: Path, data: Path, qtbot) -> None:  # noqa: ANN001
    default = make_window()
    assert default._autosave_timer.isActive() and default._autosave_timer.interval() == 60_000

    window = make_window(autosave_seconds=0.05)
    window.open_file(song)
    qtbot.wait(150)
    assert autosaves(data) == []  # the timer ticks, but a clean song is not written
    edit(window)
    qtbot.waitUntil(lambda: len(autosaves(data)) == 1, timeout=3000)


def test_autosave_right_before_regenerate(make_window, song: Path, data: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()  # 60 s timer: only Regenerate can have written the file
    window.open_file(song)
    edit(window)
    assert autosaves(data) == []
    window.doc.select_tracks([2])
    window.regenerate()
    [saved] = autosaves(data)  # written before the worker started
    assert notes(ProjectState.from_json(saved.read_bytes()).score) == notes(window.doc.score)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10_000)


# ------------------------------------------------------------------------------------- crash and restore


def test_crash_then_restore_gives_back_the_exact_song(make_window, song: Path, data: Path, boxes: Boxes) -> None:  # noqa: ANN001
    first = make_window(register=False)
    first.open_file(song)
    edit(first)
    locked_note = first.doc.score.tracks[2].notes[3]
    first.doc.locked = frozenset({(2, locked_note.start, locked_note.pitch)})
    first.doc.select_tracks([3])
    assert first.autosave()
    expected, expected_locked, expected_selection = notes(first.doc.score), first.doc.locked, first.doc.selection
    crash(first)
    assert len(markers(data)) == 1 and len(autosaves(data)) == 1  # what a crash leaves

    boxes.answer = QMessageBox.StandardButton.Yes
    second = make_window()
    assert second.offer_recovery()
    [question] = boxes.of("question")
    assert question[1] == "Restore unsaved work?" and "song.mid" in question[2]
    assert notes(second.doc.score) == expected
    assert second.doc.locked == expected_locked and second.doc.selection == expected_selection
    assert second.doc.title == "song.mid" and second.doc.dirty and second.windowTitle().startswith("song.mid")
    assert second.doc.project_path is None  # Save asks where: nothing is overwritten silently
    second.undo_stack.undo()  # nothing to undo, and still unsaved
    assert second.doc.dirty

    # The old session's files are gone; this session's autosave holds the song now.
    assert len(markers(data)) == 1 and json.loads(markers(data)[0].read_text())["session"] == second.recovery.session_id
    [saved] = autosaves(data)
    assert notes(ProjectState.from_json(saved.read_bytes()).score) == expected

    assert not second.offer_recovery()  # offered once
    second.undo_stack.setClean()
    second.close()  # a clean exit removes the marker and the autosave
    assert markers(data) == [] and autosaves(data) == []
    third = make_window()
    assert not third.offer_recovery() and len(boxes.of("question")) == 1


def test_declining_deletes_the_autosave(make_window, song: Path, data: Path, boxes: Boxes) -> None:  # noqa: ANN001
    first = make_window(register=False)
    first.open_file(song)
    edit(first)
    first.autosave()
    crash(first)

    boxes.answer = QMessageBox.StandardButton.No
    second = make_window()
    assert not second.offer_recovery()
    assert len(boxes.of("question")) == 1
    assert autosaves(data) == [] and len(markers(data)) == 1  # only the running session's marker
    assert second.doc.score.n_notes == 0 and not second.doc.dirty
    third = make_window()
    assert not third.offer_recovery() and len(boxes.of("question")) == 1


def test_crash_with_nothing_unsaved_only_notes_it(make_window, song: Path, data: Path, boxes: Boxes) -> None:  # noqa: ANN001
    first = make_window(register=False)
    first.open_file(song)
    crash(first)
    second = make_window()
    assert not second.offer_recovery() and second.last_session_crashed
    assert boxes.of("question") == [] and len(markers(data)) == 1


def test_open_windows_and_clean_closes_are_not_crashes(make_window, song: Path, data: Path, boxes: Boxes) -> None:  # noqa: ANN001
    first = make_window()
    first.open_file(song)
    edit(first)
    first.autosave()
    second = make_window()  # the first is still running: its autosave is not ours to offer
    assert not second.offer_recovery() and not second.last_session_crashed
    assert len(autosaves(data)) == 1

    boxes.answer = QMessageBox.StandardButton.Discard  # close: "Save changes?" -> Discard
    first.close()
    assert len(autosaves(data)) == 0 and len(markers(data)) == 1
    third = make_window()
    assert not third.offer_recovery() and not third.last_session_crashed


def test_sessions_of_other_processes(tmp_path: Path) -> None:
    """A marker of a process that is gone is a crash; one of a running process is left alone."""
    store = RecoveryStore(tmp_path)
    store.start()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name, pid in (("dead", dead.pid), ("alive", os.getppid())):
        other = RecoveryStore(tmp_path, session_id=name)
        other.save(ProjectState(pop_band(2)), f"{name}.mid")
        marker = json.loads(other.marker_path.read_text())
        marker["pid"], marker["process_start"] = pid, None
        other.marker_path.write_text(json.dumps(marker))
        other.release()
    crashed = store.crashed_sessions()
    assert [s.session_id for s in crashed] == ["dead"]
    assert crashed[0].title == "dead.mid" and notes(crashed[0].read_state().score) == notes(pop_band(2))
    store.discard(crashed[0])
    assert store.crashed_sessions() == [] and (tmp_path / "recovery" / "session-alive.json").exists()
    # A damaged marker still gives its autosave back; the store never writes outside its folder.
    (tmp_path / "recovery" / "session-alive.json").write_text("{not json")
    assert [s.session_id for s in store.crashed_sessions()] == ["alive"]
    store.finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recovery"]


# ------------------------------------------------------------------------------------ unhandled exceptions


class Reports:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []
        self.threads: list[str] = []

    def __call__(self, title: str, message: str, details: str) -> None:
        self.items.append((title, message, details))
        self.threads.append(threading.current_thread().name)


def explode_in_slot() -> None:
    raise ZeroDivisionError("slot went wrong")


def test_exception_in_a_slot_is_reported_logged_and_survived(make_window, song: Path, data: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    edit(window)
    reports = Reports()
    log = crash_log_path(window.settings.data_folder())
    handler = CrashHandler(log, reports, on_error=window.autosave).install()
    try:
        QTimer.singleShot(0, explode_in_slot)
        qtbot.waitUntil(lambda: len(reports.items) == 1, timeout=3000)
        assert len(autosaves(data)) == 1  # on_error put the edited song somewhere safe

        button = QPushButton("Boom", window)
        button.clicked.connect(window.undo_stack.undo)  # a real slot first: the window keeps working
        button.clicked.connect(lambda: explode_in_slot())
        button.show()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(reports.items) == 2, timeout=3000)
    finally:
        handler.uninstall()
    assert window.isVisible() and not window.doc.dirty  # alive, and the undo ran
    title, message, details = reports.items[0]
    assert title == "Unexpected error" and "ZeroDivisionError: slot went wrong" in message and str(log) in message
    assert "explode_in_slot" in details
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 2 and "explode_in_slot" in text
    assert autosaves(data) == []  # the undo made the song clean again, so its autosave went
    assert handler.count == 2


def test_exception_in_a_thread_is_reported_and_logged(tmp_path: Path) -> None:
    reports = Reports()
    log = tmp_path / "logs" / "crash.log"
    before = (sys.excepthook, threading.excepthook)
    with CrashHandler(log, reports) as handler:
        assert threading.excepthook == handler._threading_hook
        worker = threading.Thread(target=explode_in_slot, name="worker-7")
        worker.start()
        worker.join()
    assert (sys.excepthook, threading.excepthook) == before  # uninstalled
    assert reports.threads == ["worker-7"] and "ZeroDivisionError" in reports.items[0][1]
    assert "thread worker-7" in log.read_text() and "explode_in_slot" in log.read_text()


def test_a_failing_reporter_is_logged_not_raised(tmp_path: Path) -> None:
    def broken(title: str, message: str, details: str) -> None:
        raise RuntimeError("the box failed")

    log = tmp_path / "crash.log"
    handler = CrashHandler(log, broken)
    try:
        explode_in_slot()
    except ZeroDivisionError:
        handler.handle(*sys.exc_info())
    text = log.read_text()
    assert "slot went wrong" in text and "the error report failed" in text and "the box failed" in text


def test_qt_reporter_shows_one_non_modal_box(qtbot) -> None:  # noqa: ANN001
    reporter = QtReporter()
    reporter("Unexpected error", "first", "trace 1")
    reporter("Unexpected error", "second", "trace 2")
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    assert len(boxes) == 1 and boxes[0] is reporter.box
    assert not reporter.box.isModal() and "second" in reporter.box.text() and reporter.box.detailedText() == "trace 2"
    reporter.box.done(0)
    assert reporter.box is None and reporter.shown == 2
