"""The main window: builds the views and actions and wires them to four small controllers.

Widgets report intents; the controllers turn them into document changes: ``FileController`` (open, save,
export), ``RegenerationController`` (the model in worker threads, variations, Accept), ``PlaybackController``
(play, loop, playhead) and ``EditController`` (selection, every edit as one undo command). What is left
here is construction, messages and keeping the views in step with the document, so no
exception ever reaches Qt's event loop and the window never freezes while the model thinks. Whatever still
escapes a slot goes to ``app.crash``'s hook (a message and a log entry, the window stays up);
``RecoveryController`` autosaves the unsaved song so a crash of the whole process loses at most a minute of work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.audio import AudioAdapter
from app.backends import EngineBackend, InfillBackend
from app.chord_editing import ChordController
from app.document import PROJECT_SUFFIX, Document, ProjectState
from app.editing import EditController
from app.file_controller import MIDI_SUFFIXES, OPENABLE, FileController
from app.piano_roll import PianoRollView
from app.playback import PlaybackController
from app.prompt_panel import PromptPanel
from app.recovery import RecoveryStore
from app.recovery_controller import RecoveryController
from app.regeneration import RegenerationController
from app.settings import APPLICATION, ORGANISATION, AppSettings
from app.shortcuts import ShortcutsDialog
from app.snap import SNAPS
from app.song_info import SongInfoBar
from app.track_list import TrackListPanel
from app.variations import VariationsPanel
from app.window_actions import build_actions, build_menus_and_toolbar
from engine.errors import MidiReadError
from engine.midi_io import read_midi
from engine.score import Score

APP_NAME = "Pop-Diffuseq Studio"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SONG = REPO_ROOT / "resources" / "demo" / "demo_song.mid"
ICON_PATH = REPO_ROOT / "resources" / "icons" / "app.svg"
__all__ = ["APP_NAME", "DEMO_SONG", "MIDI_SUFFIXES", "OPENABLE", "MainWindow", "read_song", "run"]


def read_song(path: Path) -> tuple[Score, ProjectState | None]:
    """Load a MIDI file or a project. Raises MidiReadError / ValueError with a readable message.

    MIDI goes through the song document reader (engine.midi_document), which keeps every event of the
    file so that exporting after an edit changes nothing the edit did not touch.
    """
    if path.suffix.lower() == PROJECT_SUFFIX:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MidiReadError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
        state = ProjectState.from_json(data, path.name)
        return state.score, state
    return read_midi(path), None


class MainWindow(QMainWindow):
    def __init__(
        self,
        backend: InfillBackend | None = None,
        settings: AppSettings | None = None,
        audio: AudioAdapter | None = None,
        recovery: RecoveryStore | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else AppSettings()
        self.backend: InfillBackend = backend if backend is not None else EngineBackend(self.settings.device())
        self.audio = audio if audio is not None else AudioAdapter()
        self.doc = Document()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.last_error: str | None = None  # the last message shown, for tests and the status bar

        self.setWindowTitle(f"Untitled[*] — {APP_NAME}")
        if ICON_PATH.exists():
            self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.setAcceptDrops(True)
        self._build_views()
        self.files = FileController(self)
        self.regen = RegenerationController(self)
        self.playback = PlaybackController(self)
        self.edits = EditController(self)
        self.chords = ChordController(self)
        build_actions(self)
        build_menus_and_toolbar(self)
        self._connect_views()
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.prompts = self.settings.prompts()
        self.prompt_panel.set_prompts(self.doc.prompts)
        self.crash_recovery = RecoveryController(self, recovery)
        self.resize(1440, 860)
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.state()
        if state is not None:
            self.restoreState(state)
        self.update_actions()

    # -------------------------------------------------------------------- controller façade
    # The public verbs the menus, tests, screenshots and benches use; each belongs to one controller.
    @property
    def model_state(self) -> str:
        return self.regen.model_state

    @model_state.setter
    def model_state(self, value: str) -> None:
        self.regen.model_state = value

    def open_file(self, path: str | Path, remember: bool = True) -> bool:
        return self.files.open_file(path, remember)

    def open_dialog(self) -> None:
        self.files.open_dialog()

    def load_demo(self) -> bool:
        if DEMO_SONG.exists() and self.files.open_file(DEMO_SONG, remember=False):
            return True
        from engine.demo import demo_score  # the resource is missing: build the song in memory

        self.files.set_document(demo_score(), None, None, "Demo song")
        return True

    def export_midi(self, path: str | Path | None = None) -> bool:
        return self.files.export_midi(path)

    def save_project(self) -> bool:
        return self.files.save_project()

    def save_project_as(self, path: str | Path | None = None) -> bool:
        return self.files.save_project_as(path)

    def render_wav(self, path: str | Path | None = None) -> bool:
        return self.files.render_wav(path)

    def start_model_loading(self) -> None:
        self.regen.start_model_loading()

    def regenerate(self) -> None:
        self.regen.regenerate()

    def cancel_regenerate(self) -> None:
        self.regen.cancel()

    def is_busy(self) -> bool:
        return self.regen.is_busy()

    def accept_variation(self, index: int) -> None:
        self.regen.accept_variation(index)

    def play_stop(self) -> None:
        self.playback.play_stop()

    def delete_selection(self) -> None:
        self.edits.delete_selection()

    def toggle_lock(self) -> None:
        self.edits.toggle_lock()

    def add_track(self, category: str) -> None:
        self.edits.add_track(category)

    def remove_track(self, index: int) -> None:
        self.edits.remove_track(index)

    def select_all(self) -> None:
        self.edits.select_all()

    def escape(self) -> None:
        self.edits.escape()

    # ------------------------------------------------------------------------------- construction
    def _build_views(self) -> None:
        self.roll = PianoRollView(self.doc)
        self.canvas = self.roll.canvas
        self.tracks_panel = TrackListPanel(self.doc, self.canvas)
        self.song_info = SongInfoBar(self.doc)
        self.banner = QLabel()
        self.banner.setObjectName("auditionBanner")
        self.banner.setStyleSheet("QLabel#auditionBanner { background: rgba(61, 111, 214, 230); color: white; padding: 3px 10px; }")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        lanes = QWidget()
        row = QHBoxLayout(lanes)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.tracks_panel)
        row.addWidget(self.roll, 1)
        center = QWidget()
        col0 = QVBoxLayout(center)
        col0.setContentsMargins(0, 0, 0, 0)
        col0.setSpacing(0)
        col0.addWidget(self.song_info)
        col0.addWidget(self.banner)  # above the roll, so it never hides a note
        col0.addWidget(lanes, 1)
        self.setCentralWidget(center)

        self.prompt_panel = PromptPanel()
        self.variations_panel = VariationsPanel(self.doc)
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.prompt_panel)
        col.addWidget(self.variations_panel, 1)
        # The prompt form keeps its size hint; in a short window the panel scrolls rather than clip its rows.
        self.prompt_panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_dock = QDockWidget("Regenerate", self)
        self.side_dock.setObjectName("regenerateDock")
        self.side_dock.setWidget(scroll)
        self.side_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        # Wide enough for the panel's narrowest layout beside the vertical scroll bar: there is no sideways
        # scroll bar, and at 300 px the panel's 394 px were cut at the right edge (Cancel, spin-box arrows)
        # or, once scrolled sideways, at the left ("rompt"; a fresh-user run).
        self.side_dock.setMinimumWidth(max(300, side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                                           + 2 * scroll.frameWidth()))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.side_dock)

        self.status_model = QLabel("Model: not loaded")
        self.status_selection = QLabel("")
        self.statusBar().addPermanentWidget(self.status_selection)
        self.statusBar().addPermanentWidget(self.status_model)

    def _connect_views(self) -> None:
        self.canvas.contextMenuRequested.connect(self._show_context_menu)
        self.canvas.toolChanged.connect(self._sync_tool_actions)
        self.prompt_panel.promptsChanged.connect(self._on_prompts_changed)
        self.prompt_panel.regenerateRequested.connect(self.regen.regenerate)
        self.prompt_panel.cancelRequested.connect(self.regen.cancel)
        self.variations_panel.previewRequested.connect(self.doc.set_preview)
        self.variations_panel.acceptRequested.connect(self.regen.accept_variation)
        self.song_info.meterRequested.connect(self.edits.set_meter_dialog)
        self.song_info.tempoRequested.connect(self.edits.set_tempo_dialog)
        self.song_info.warningsRequested.connect(self.show_file_warnings)
        self.prompt_panel.chordsToggled.connect(self._set_region_chords)

    def _set_region_chords(self, on: bool) -> None:
        """The Regenerate panel's "Chords too": the region includes the chord lane (or no longer does)."""
        from dataclasses import replace

        sel = self.doc.selection
        if sel is not None and sel.chords != on:
            self.doc.set_selection(replace(sel, chords=on))

    def _sync_tool_actions(self, tool: str) -> None:
        (self.act_tool_pencil if tool == "pencil" else self.act_tool_select).setChecked(True)
        for a, snap in zip(self.snap_actions, SNAPS, strict=True):
            a.setChecked(snap == self.canvas.snap)

    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard Shortcuts: a table built from the actions themselves, so it cannot go stale."""
        dialog = ShortcutsDialog(self, [a for a in self.actions() if a.shortcuts()])
        self.shortcuts_dialog = dialog
        if self.interactive:
            dialog.show()

    # ----------------------------------------------------------------------------- messages
    # False for scripted runs (--screenshot): errors go to stderr instead of a modal box nobody closes.
    interactive = True

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Every failure ends here: a modal message, never a traceback or a dead window."""
        self.last_error = message
        self.statusBar().showMessage(message.splitlines()[0], 8000)
        if details:  # the traceback goes to the console for bug reports; the musician sees the message
            print(details, file=sys.stderr)
        if not self.interactive:
            print(f"{title}: {message}", file=sys.stderr)
            return
        QMessageBox.critical(self, title, message)

    def show_file_warnings(self) -> None:
        """The list behind the song strip's warning line, in a window that stays open beside the song."""
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit

        what, warnings = self.doc.file_warnings
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{what}: {len(warnings)} warning{'s' * (len(warnings) != 1)}")
        text = QPlainTextEdit("\n".join(f"• {w}" for w in warnings) or "No warnings.")
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.close)
        col = QVBoxLayout(dialog)
        col.addWidget(text)
        col.addWidget(buttons)
        dialog.resize(560, 320)
        self.warnings_dialog = dialog
        if self.interactive:
            dialog.show()

    def ask(self, title: str, text: str, default_yes: bool = False) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        default = QMessageBox.StandardButton.Yes if default_yes else QMessageBox.StandardButton.No
        return QMessageBox.question(self, title, text, buttons, default) == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------------------- recovery
    @property
    def recovery(self) -> RecoveryStore | None:
        return self.crash_recovery.store

    @property
    def _autosave_timer(self) -> QTimer:
        return self.crash_recovery.timer

    @property
    def last_session_crashed(self) -> bool:
        return self.crash_recovery.last_session_crashed

    def autosave(self) -> bool:
        return self.crash_recovery.autosave()

    def offer_recovery(self) -> bool:
        return self.crash_recovery.offer()

    # ------------------------------------------------------------------------------ drag & drop
    @staticmethod
    def _dropped_path(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in OPENABLE:
                return Path(url.toLocalFile())
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: ANN001, N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        path = self._dropped_path(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # Open after the drop returns, so a message box never runs inside the platform's drag loop.
        QTimer.singleShot(0, lambda: self.files.open_file(path))

    # ------------------------------------------------------------------------------- observers
    def _on_clean_changed(self, clean: bool) -> None:
        # The undo stack also reports this while it is destroyed, after the window's C++ half is gone
        # (quitting after Discard printed a libshiboken RuntimeError, issue 18 item 10).
        if shiboken6.isValid(self):
            self.doc.set_dirty(not clean)

    def _on_doc_changed(self, kind: str) -> None:
        if not shiboken6.isValid(self):
            return
        if kind in ("score", "preview", "variations"):
            self.tracks_panel.rebuild()
            self.variations_panel.refresh() if kind != "preview" else self.variations_panel.sync_preview()
            self.canvas.set_scroll(tick=self.canvas.scroll_tick, y=self.canvas.scroll_y)
            self.song_info.refresh()
            self._show_banner()
            if kind == "preview":
                self.canvas.reveal_new_lanes()
                self.playback.restart_if_playing()
        elif kind in ("selection", "notes"):
            self.tracks_panel.refresh()
            self.canvas.update()
            self.roll.velocity.update()
        elif kind == "mix":
            self.audio.set_mix(self.doc.muted, self.doc.soloed)
            self.tracks_panel.refresh()
        elif kind == "playhead":
            self.canvas.update()
        elif kind == "warnings":
            self.song_info.show_warnings()
        elif kind == "path":
            self.setWindowTitle(f"{self.doc.title}[*] — {APP_NAME}")
            self.setWindowModified(self.doc.dirty)
            if not self.doc.dirty:  # saved, or replaced on purpose
                self.crash_recovery.song_saved()
        if kind in ("selection", "score", "variations", "preview"):
            sel = self.doc.selection
            text = sel.describe(self.doc.track_names()) if sel is not None else "No region selected — drag over the piano roll (Select tool, V), or click track headers."
            self.prompt_panel.set_region_text(text)
            self.prompt_panel.set_region_chords(sel is not None, sel is not None and sel.chords)
            self.status_selection.setText(f"Region: {text}" if sel is not None else "")
            self.update_actions()

    def _show_banner(self) -> None:
        """While a variation is auditioned, say so in a strip above the roll: edits are off until Accept or Esc."""
        i = self.doc.preview_index
        if i is None:
            self.banner.hide()
            return
        self.banner.setText(f"Auditioning variation {i + 1} of {len(self.doc.variations)}  —  Accept: Ctrl+Enter   ·   back to song: Esc")
        self.banner.show()

    def _on_prompts_changed(self, prompts) -> None:  # noqa: ANN001
        self.doc.set_prompts(prompts)
        self.settings.save_prompts(prompts)

    def update_actions(self) -> None:
        busy = self.regen.is_busy()
        self.act_regenerate.setEnabled(not busy)
        self.act_cancel.setEnabled(busy)
        self.act_accept.setEnabled(self.doc.preview_index is not None)
        self.act_play.setEnabled(self.audio.play_ok)
        self.act_play.setToolTip(self.audio.play_reason)
        self.act_render.setEnabled(self.audio.render_ok)
        self.act_render.setToolTip(self.audio.render_reason)

    _update_actions = update_actions  # older name, kept for callers outside the app

    def _show_context_menu(self, pos) -> None:  # noqa: ANN001
        menu = QMenu(self)
        for a in (self.act_lock, self.act_delete):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.act_regenerate)
        menu.addAction(self.act_escape)
        menu.popup(pos)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        self.canvas.setFocus()  # so Space, R, L and Delete act on the song, not on a track-name field

    # ------------------------------------------------------------------------------------ close
    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Stop audio and background threads: a QThread destroyed while running would abort the process."""
        self.playback.close()
        self.regen.shutdown(wait_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.doc.dirty:
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                f"Save the changes to “{self.doc.title}” as a project before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel or (answer == QMessageBox.StandardButton.Save and not self.save_project()):
                event.ignore()
                return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.save_prompts(self.doc.prompts)
        self.settings.sync()
        self.shutdown()
        try:
            self.undo_stack.cleanChanged.disconnect(self._on_clean_changed)
        except (RuntimeError, TypeError):  # already disconnected by an earlier close
            pass
        self.crash_recovery.finish()  # a clean exit: no autosave, no marker
        event.accept()



# ------------------------------------------------------------------------------------- entry point


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="popdiffuseq-studio", description=APP_NAME)
    parser.add_argument("path", nargs="?", help="MIDI file or project to open (default: the demo song)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the window after the first paint and exit")
    parser.add_argument("--placeholder-model", action="store_true", help="use the no-model placeholder generator (for demos without weights)")
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    """Start the editor: open ``argv``'s file (or the demo song), show the window, run the event loop."""
    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else APP_NAME])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("pop-diffuseq-studio")  # packaging/pop-diffuseq-studio.desktop (icon on Wayland)
    if ICON_PATH.exists():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    from app.theme import apply_dark_theme

    apply_dark_theme(app)
    from app.crash import CrashHandler, QtReporter, crash_log_path

    settings = AppSettings()
    crash_handler = CrashHandler(crash_log_path(settings.data_folder()), QtReporter(app)).install()
    backend: InfillBackend | None = None
    if args.placeholder_model:
        from app.backends import PlaceholderBackend

        backend = PlaceholderBackend()
    elif not args.screenshot:
        engine_backend = EngineBackend(settings.device())
        try:
            engine_backend.prepare()  # torch's import before the first paint, not during the user's first seconds
        except Exception:  # noqa: BLE001 - a missing engine is reported when the model loads, with its reason
            pass
        backend = engine_backend
    window = MainWindow(backend=backend, settings=settings)
    crash_handler.on_error = window.autosave  # after an unexpected error, put the song somewhere safe
    restored = False
    window.interactive = not args.screenshot
    if not args.screenshot:
        window.show()
        restored = window.offer_recovery()
    if not restored and not (args.path and window.open_file(Path(args.path))):
        window.load_demo()
    window.show()
    app.aboutToQuit.connect(window.shutdown)
    if args.screenshot:
        shot = Path(args.screenshot)

        def grab_and_quit() -> None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(shot))
            print(shot)
            window.undo_stack.setClean()
            window.close()
            app.quit()

        QTimer.singleShot(300, grab_and_quit)
    else:
        QTimer.singleShot(0, window.start_model_loading)
    return int(app.exec())
