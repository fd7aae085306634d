"""Issue 18, items 1-14: stale state, prompt leaks, select vs edit tool, and the rough edges a new user hit.

Each test drives the real window offscreen with the fake backend of tests/test_app_window.py and would fail
on the window as it was before the issue (the comment on each says what it caught).
"""

# ruff: noqa: F811 - the window fixtures are imported from tests/test_app_window.py and requested by name

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QToolButton

from app.document import InfillRequest, PromptSettings, RegionSelection, region_ticks
from app.main_window import REPO_ROOT, MainWindow
from app.prompt_panel import progress_text
from app.settings import AppSettings
from app.variations import changed_notes
from engine.analysis.grid import beat_grid
from engine.score import Note, Score, Track
from tests.midi_fixtures import pop_band, write
from tests.test_app_window import Boxes, FakeBackend, boxes, make_window, regenerate_and_wait, song  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


class AddingBackend(FakeBackend):
    """The fake backend, plus one new track per requested instrument ("+ Brass"), with notes in the region."""

    def __init__(self, step_seconds: float = 0.0, parts: int = 1) -> None:
        super().__init__(step_seconds)
        self.parts = parts

    def infill(self, request: InfillRequest, progress, cancel) -> list[Score]:  # noqa: ANN001
        steps = request.prompts.steps
        if self.parts > 1:  # report like the engine does for a long region: parts x steps in one count
            for i in range(self.parts * steps):
                progress(i + 1, self.parts * steps)
        out = super().infill(request, progress, cancel)
        t0, _t1 = region_ticks(beat_grid(request.score), request.selection)
        new = [Track(c.title(), 61, False, [Note(t0, t0 + 240, 60 + k, 90) for k in range(4)], category=c) for c in request.prompts.new_tracks]
        return [replace(s, tracks=[*s.tracks, *new]) for s in out]


@pytest.fixture
def other_song(tmp_path: Path) -> Path:
    return write(pop_band(4), tmp_path, "other.mid")


# ------------------------------------------------------------------------------------ 1. stale state
def test_cancel_never_falls_back_to_the_previous_variations(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    """Old: Regenerate → Cancel auditioned the previous request's take with Accept enabled."""
    window = make_window(FakeBackend(step_seconds=0.02))
    window.open_file(song)
    window.doc.select_tracks([0])
    window.doc.set_prompts(replace(window.doc.prompts, steps=4))
    regenerate_and_wait(qtbot, window)
    assert len(window.doc.variations) == 3
    window.escape()  # back to the song
    window.doc.set_prompts(replace(window.doc.prompts, steps=200))
    window.prompt_panel.regenerate.setFocus()
    qtbot.mouseClick(window.prompt_panel.regenerate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.prompt_panel.progress.maximum() == 200, timeout=5000)
    qtbot.mouseClick(window.prompt_panel.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=5000)
    assert window.doc.preview_index is None and window.doc.variations == []
    assert not window.act_accept.isEnabled() and not window.variations_panel.accept.isEnabled()
    assert window.canvas.tracks() is window.doc.score.tracks and window.banner.isHidden()


def test_focus_never_starts_an_audition_and_a_failed_open_changes_nothing(make_window, song: Path, tmp_path: Path, qtbot, boxes: Boxes) -> None:  # noqa: ANN001
    """Old: when Regenerate was disabled or a message box closed, focus moved to the variations list and Qt
    made its first row current, which auditioned it."""
    window = make_window()
    window.open_file(song)
    window.doc.select_tracks([0])
    regenerate_and_wait(qtbot, window)
    window.escape()
    assert window.doc.preview_index is None
    panel = window.prompt_panel
    panel.regenerate.setFocus()
    panel.set_busy(True)  # disabling the focused button hands focus to the next widget that takes tab focus
    qtbot.wait(10)
    panel.set_busy(False)
    assert window.doc.preview_index is None
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd garbage")
    assert not window.open_file(bad)
    qtbot.wait(10)
    assert window.doc.preview_index is None and not window.act_accept.isEnabled()


def test_results_for_a_song_no_longer_open_are_dropped(make_window, song: Path, other_song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window(FakeBackend(step_seconds=0.02))
    window.open_file(song)
    window.doc.select_tracks([0])
    window.doc.set_prompts(replace(window.doc.prompts, steps=30))
    window.regenerate()
    window.open_file(other_song)  # while the model works for the first song
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=5000)
    qtbot.wait(20)
    assert window.doc.variations == [] and window.doc.path == other_song


# ------------------------------------------------------------------------------------ 2. prompt leaks
def test_per_song_prompts_reset_on_open_and_restart_but_preferences_stay(make_window, song: Path, other_song: Path, qtbot) -> None:  # noqa: ANN001
    """Old: "+ Brass" and the tempo class followed the user to the next song (and the next start)."""
    window = make_window(AddingBackend())
    window.open_file(song)
    window.doc.select_tracks([0])
    panel = window.prompt_panel
    panel.add_category.setCurrentIndex(panel.add_category.findText("Brass"))
    panel._add_new_track()
    panel.tempo.setCurrentIndex(panel.tempo.findData("moderato"))
    panel.guidance.setValue(3.0)
    regenerate_and_wait(qtbot, window)
    assert "ready" in panel.progress.format()
    assert window.open_file(other_song)
    assert window.doc.prompts.new_tracks == () and window.doc.prompts.tempo_class is None
    assert panel.new_tracks.count() == 0 and panel.tempo.currentIndex() == 0
    assert panel.progress.format() == "Idle" and window.doc.variations == []
    assert window.doc.prompts.guidance == 3.0  # a preference survives
    window.doc.select_tracks([0])
    regenerate_and_wait(qtbot, window)
    assert len(window.doc.variations[0].tracks) == len(window.doc.score.tracks)  # no Brass added silently
    again = make_window()
    assert again.doc.prompts.tempo_class is None and again.doc.prompts.new_tracks == ()
    assert again.doc.prompts.guidance == 3.0


# ------------------------------------------------------------------------------------ 3. select vs edit
def test_a_drag_in_select_mode_selects_even_from_a_note(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    """Old: a drag that started on a note moved the note."""
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    before = window.doc.score
    melody = next(n for n in before.tracks[0].notes if 1920 <= n.start < 3840)  # bar 2
    hi, _rows, row_h = canvas._row_geometry(0)
    x, y = int(canvas.x_of(melody.start + 200)), int(canvas.lane_top(0) + 3 + (hi - melody.pitch + 0.5) * row_h)
    assert canvas.note_at(QPointF(x, y)) is not None
    x1, y1 = int(canvas.x_of(3 * 1920 + 100)), canvas.lane_top(1) + 5
    assert window.act_tool_select.isChecked() and canvas.tool == "select"
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(canvas, QPoint(x1, y1))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x1, y1))
    assert window.doc.score is before and window.undo_stack.count() == 0
    assert window.doc.selection == RegionSelection(1, 4, (0, 1))
    # A click (no drag) on a note still picks it.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert window.doc.selected_notes == {(0, melody.start, melody.pitch)}
    toolbar_actions = window.toolbar.actions()
    assert window.act_tool_select in toolbar_actions and window.act_tool_pencil in toolbar_actions


# ------------------------------------------------------------------------------------ 4. added instrument
def test_an_added_instrument_lane_is_outlined_and_scrolled_into_view(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    """Old: the new Brass lane appeared below the view, outside the dashed outline."""
    window = make_window(AddingBackend())
    window.open_file(song)
    canvas = window.canvas
    canvas.set_lane_height(220)
    window.doc.set_selection(RegionSelection(2, 4, (0,)))
    window.doc.set_prompts(replace(window.doc.prompts, new_tracks=("BRASS",)))
    regenerate_and_wait(qtbot, window)
    assert len(canvas.tracks()) == 6
    assert 5 in canvas.selection_lanes()
    top = canvas.lane_top(5)
    assert top >= 0 and top + canvas.lane_height <= canvas.height()
    # Tracks ▸ Add Track scrolls its new lane into view too.
    window.escape()
    canvas.set_scroll(y=0)
    window.add_track("STRINGS")
    top = canvas.lane_top(len(window.doc.score.tracks) - 1)
    assert top >= 0 and top + canvas.lane_height <= canvas.height()


# ------------------------------------------------------------------------------------ 5. progress
def test_progress_reads_part_and_step() -> None:
    assert progress_text(12, 20, 10) == "Part 2 of 2 · step 2 of 10"
    assert progress_text(1, 130, 10) == "Part 1 of 13 · step 1 of 10"
    assert progress_text(3, 10, 10) == "Step 3 of 10"


def test_the_window_shows_parts_of_a_long_region(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window(AddingBackend(step_seconds=0.0, parts=2))
    window.open_file(song)
    window.doc.select_tracks([0])
    window.doc.set_prompts(replace(window.doc.prompts, steps=10))
    seen: list[str] = []
    window.prompt_panel.progress.valueChanged.connect(lambda _v: seen.append(window.prompt_panel.progress.format()))
    regenerate_and_wait(qtbot, window)
    assert "Part 2 of 2 · step 10 of 10" in seen and not any("/20" in s for s in seen)


# ------------------------------------------------------------------------------------ 6. rough edges
def test_changed_notes_counts_a_changed_note_once() -> None:
    """Old: a transposed note counted twice (removed + added), so "112 notes changed" in a 60-note region."""
    base = pop_band(2)
    notes = base.tracks[0].notes
    moved = [replace(n, pitch=n.pitch + 2) if i < 5 else n for i, n in enumerate(notes)]
    variant = replace(base, tracks=[replace(base.tracks[0], notes=moved), *base.tracks[1:]])
    assert changed_notes(base, variant) == 5
    fewer = replace(base, tracks=[replace(base.tracks[0], notes=notes[3:]), *base.tracks[1:]])
    assert changed_notes(base, fewer) == 3


def test_toolbar_keeps_its_width_and_the_banner_leaves_the_roll_alone(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    window = make_window()
    window.open_file(song)
    button = window.toolbar.widgetForAction(window.tb_undo)
    assert isinstance(button, QToolButton)
    width = button.sizeHint().width()
    window.doc.select_tracks([0])
    window.delete_selection()
    assert button.text() == "Undo" and button.sizeHint().width() == width
    assert "Delete" in window.tb_undo.toolTip() and window.tb_undo.isEnabled()
    regenerate_and_wait(qtbot, window)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=2000)
    assert "Auditioning variation 1 of 3" in window.banner.text()
    banner = window.banner.geometry().translated(window.banner.parentWidget().mapTo(window, QPoint(0, 0)))
    roll = window.canvas.rect().translated(window.canvas.mapTo(window, QPoint(0, 0)))
    assert not banner.intersects(roll)
    window.escape()
    assert window.banner.isHidden()


# ------------------------------------------------------------------------------------ 7. zoom keys
US_SHIFTED = {"=": "+", "-": "_", "0": ")", "9": "("}


def _normalised(seq: QKeySequence) -> str:
    """A shortcut as the key event a US keyboard sends: Ctrl+Shift+= arrives as Ctrl++ (Shift folded in)."""
    text = seq.toString(QKeySequence.SequenceFormat.PortableText)
    parts = text.split("+") if text != "+" else ["+"]
    if text.endswith("++"):
        parts = [*text[:-2].split("+"), "+"]
    mods, key = set(parts[:-1]), parts[-1]
    if "Shift" in mods and key in US_SHIFTED:
        mods.discard("Shift")
        key = US_SHIFTED[key]
    return "+".join(sorted(mods) + [key])


def test_no_two_actions_share_a_key(make_window) -> None:  # noqa: ANN001
    """Old: Taller Lanes (Ctrl+Shift+=) is Ctrl++ on most keyboards, so Zoom In's Ctrl++ was ambiguous."""
    window = make_window()
    owner: dict[str, str] = {}
    for action in window.actions():
        for seq in action.shortcuts():
            key = _normalised(seq)
            assert key not in owner or owner[key] == action.text(), f"{key}: {owner.get(key)} and {action.text()}"
            owner[key] = action.text()


def test_keyboard_zoom_keeps_the_selection_in_view(make_window, song: Path, qtbot) -> None:  # noqa: ANN001
    """Old: zoom anchored on the middle of the view and pushed a selection at the left edge out."""
    window = make_window()
    window.open_file(song)
    canvas = window.canvas
    canvas.zoom_to_fit()
    window.doc.set_selection(RegionSelection(0, 1, (0,)))
    t0, t1 = region_ticks(window.doc.grid, window.doc.selection)
    for _ in range(4):
        window.act_zoom_in.trigger()
    x0, x1 = canvas.x_of(t0), canvas.x_of(t1)
    assert x1 > 0 and x0 < canvas.width()  # still (partly) in view
    assert canvas.px_per_tick > 0


# ------------------------------------------------------------------------------------ 10. quit
def test_quitting_after_discard_touches_no_deleted_window(make_window, song: Path, boxes: Boxes, qtbot) -> None:  # noqa: ANN001
    """Old: the undo stack's cleanChanged fired during destruction into a lambda on the deleted window
    (RuntimeError: Internal C++ object (MainWindow) already deleted). pytest-qt fails on such errors."""
    window = MainWindow(backend=FakeBackend(), settings=AppSettings.in_file(Path(os.environ.get("TMPDIR", "/tmp")) / f"q10-{os.getpid()}.ini"))
    window.show()
    window.open_file(song)
    window.doc.select_tracks([0])
    window.delete_selection()
    assert window.doc.dirty
    boxes.answer = QMessageBox.StandardButton.Discard
    assert window.close()
    errors: list[BaseException] = []
    old_hook = sys.excepthook
    sys.excepthook = lambda t, v, tb: errors.append(v)
    try:
        shiboken6.delete(window)
        qtbot.wait(10)
    finally:
        sys.excepthook = old_hook
    assert not errors


# ------------------------------------------------------------------------------------ 11. no display
def test_without_a_display_the_advice_is_a_command_that_works(tmp_path: Path) -> None:
    """Old: it said `xvfb-run -a python main.py`, which runs the system Python without PySide6."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, str(REPO / "main.py")], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "xvfb-run -a make run" in result.stderr
    assert f"xvfb-run -a {sys.executable} " in result.stderr
    assert "xvfb-run -a python main.py" not in result.stderr


# ------------------------------------------------------------------------------------ 12. dialog folders
def test_dialogs_start_in_the_last_folder_else_home(make_window, song: Path, tmp_path: Path, monkeypatch, boxes: Boxes) -> None:  # noqa: ANN001
    """Old: Open started inside resources/demo and Export of the demo inside the application's folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    seen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda parent, title, folder, *a, **k: seen.append(folder) or ("", "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda parent, title, path, *a, **k: seen.append(path) or ("", "")))
    window = make_window()
    window.load_demo()
    window.open_dialog()
    window.export_midi()
    assert seen[0] == str(tmp_path / "home")
    assert Path(seen[1]).parent == tmp_path / "home" and REPO_ROOT not in Path(seen[1]).parents
    window.open_file(song)
    window.open_dialog()
    window.export_midi()
    assert seen[2] == str(song.parent) and Path(seen[3]).parent == song.parent


# ------------------------------------------------------------------------------------ 13. guidance
def test_one_guidance_default_and_meaning_everywhere(make_window) -> None:  # noqa: ANN001
    """Old: CLI 1.5 "(1 = off)" and editor 2.00 "(0 = ignore them)"."""
    import inspect

    from engine.cli import build_parser
    from engine.guidance import GUIDANCE_DEFAULT, GUIDANCE_HELP
    from engine.infill import infill

    infill_parser = build_parser()._subparsers._group_actions[0].choices["infill"]
    cli_default = next(a.default for a in infill_parser._actions if a.dest == "guidance")
    assert cli_default == GUIDANCE_DEFAULT == PromptSettings().guidance == inspect.signature(infill).parameters["guidance"].default
    window = make_window()
    assert window.prompt_panel.guidance.toolTip() == GUIDANCE_HELP
    assert next(a.help for a in infill_parser._actions if a.dest == "guidance") == GUIDANCE_HELP
    assert "0 = ignore" in GUIDANCE_HELP and "1 = as trained" in GUIDANCE_HELP


def test_one_novelty_default_everywhere_and_the_panel_sets_it(make_window) -> None:  # noqa: ANN001
    from engine.cli import build_parser
    from engine.infill import Prompts
    from engine.novelty import NOVELTY_DEFAULT, NOVELTY_HELP

    infill_parser = build_parser()._subparsers._group_actions[0].choices["infill"]
    assert next(a.default for a in infill_parser._actions if a.dest == "novelty") == NOVELTY_DEFAULT
    assert NOVELTY_DEFAULT == PromptSettings().novelty == Prompts().novelty
    assert PromptSettings(novelty=3.0).novelty == 1.0 and PromptSettings(novelty=-1).novelty == 0.0  # clamped
    assert PromptSettings.from_dict(PromptSettings(novelty=0.3).to_dict()).novelty == 0.3  # remembered
    window = make_window()
    panel = window.prompt_panel
    assert panel.novelty.toolTip() == NOVELTY_HELP
    seen = []
    panel.promptsChanged.connect(seen.append)
    panel.novelty.setValue(0.2)
    assert seen and seen[-1].novelty == pytest.approx(0.2)
