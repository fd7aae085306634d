"""The main window: wires the document, the views, the undo stack, the workers, audio and settings.

Widgets report intents; this class turns each edit into one undo command, each long job into a worker in
its own thread, and each failure into a message box, so no exception ever reaches Qt's event loop and the
window never freezes while the model thinks. Whatever still escapes a slot goes to ``app.crash``'s hook (a
message and a log entry, the window stays up); ``app.recovery`` autosaves the unsaved song so a crash of
the whole process loses at most a minute of work, and the next start offers it back.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.audio import AudioAdapter
from app.backends import EngineBackend, InfillBackend
from app.commands import AcceptVariationCommand, ReplaceStateCommand
from app.document import (
    PROJECT_SUFFIX,
    Document,
    InfillRequest,
    NoteKey,
    ProjectState,
    add_note,
    add_track,
    default_export_name,
    delete_notes,
    move_notes,
    region_ticks,
    remap_keys_after_track_removal,
    remove_track,
    rename_track,
    set_track_instrument,
)
from app.piano_roll import PianoRollView
from app.prompt_panel import PromptPanel
from app.recovery import CrashedSession, RecoveryStore
from app.settings import APPLICATION, ORGANISATION, AppSettings
from app.track_list import TrackListPanel, category_label
from app.variations import VariationsPanel
from app.worker import InfillWorker, LoadWorker, WorkerThread
from engine.analysis.categories import CATEGORIES
from engine.analysis.tempo import score_tempo_class
from engine.errors import MidiReadError, StudioError
from engine.files import atomic_write_bytes
from engine.midi_io import read_midi, write_midi
from engine.score import Note, Score

APP_NAME = "Pop-Diffuseq Studio"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SONG = REPO_ROOT / "resources" / "demo" / "demo_song.mid"
ICON_PATH = REPO_ROOT / "resources" / "icons" / "app.svg"
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi", ".smf")
OPENABLE = (*MIDI_SUFFIXES, PROJECT_SUFFIX)


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
        self.backend: InfillBackend = backend if backend is not None else EngineBackend()
        self.settings = settings if settings is not None else AppSettings()
        self.audio = audio if audio is not None else AudioAdapter()
        self.doc = Document()
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda clean: self.doc.set_dirty(not clean))
        self._infill: WorkerThread | None = None
        self._loader: WorkerThread | None = None
        self.model_state = "not loaded"
        self.model_error: str | None = None
        self.last_error: str | None = None  # the last message shown, for tests and the status bar
        self.last_session_crashed = False  # set by offer_recovery

        self.setWindowTitle(f"Untitled[*] — {APP_NAME}")
        if ICON_PATH.exists():
            self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.setAcceptDrops(True)
        self._build_views()
        self._build_actions()
        self._build_menus_and_toolbar()
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.prompts = self.settings.prompts()
        self.prompt_panel.set_prompts(self.doc.prompts)
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(30)
        self._play_timer.timeout.connect(self._poll_playback)
        self._init_recovery(recovery)
        self.resize(1440, 860)
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.state()
        if state is not None:
            self.restoreState(state)
        self._update_actions()

    # ------------------------------------------------------------------------------- construction
    def _build_views(self) -> None:
        self.roll = PianoRollView(self.doc)
        self.canvas = self.roll.canvas
        self.tracks_panel = TrackListPanel(self.doc, self.canvas)
        center = QWidget()
        row = QHBoxLayout(center)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.tracks_panel)
        row.addWidget(self.roll, 1)
        self.setCentralWidget(center)

        self.prompt_panel = PromptPanel()
        self.variations_panel = VariationsPanel(self.doc)
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.prompt_panel)
        col.addWidget(self.variations_panel, 1)
        self.side_dock = QDockWidget("Regenerate", self)
        self.side_dock.setObjectName("regenerateDock")
        self.side_dock.setWidget(side)
        self.side_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.side_dock.setMinimumWidth(300)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.side_dock)

        self.status_model = QLabel("Model: not loaded")
        self.status_selection = QLabel("")
        self.statusBar().addPermanentWidget(self.status_selection)
        self.statusBar().addPermanentWidget(self.status_model)

        self.canvas.notesMoved.connect(self._on_notes_moved)
        self.canvas.noteAdded.connect(self._on_note_added)
        self.canvas.playheadMoved.connect(self._on_playhead_clicked)
        self.canvas.contextMenuRequested.connect(self._show_context_menu)
        self.tracks_panel.trackClicked.connect(self._on_track_clicked)
        self.tracks_panel.renamed.connect(self._on_track_renamed)
        self.tracks_panel.categoryChosen.connect(lambda i, c: self._edit_track(i, f"Set {category_label(c)}", category=c))
        self.tracks_panel.programChosen.connect(lambda i, p: self._edit_track(i, "Change instrument", program=p))
        self.tracks_panel.removeRequested.connect(self.remove_track)
        self.tracks_panel.addRequested.connect(self.add_track)
        self.prompt_panel.promptsChanged.connect(self._on_prompts_changed)
        self.prompt_panel.regenerateRequested.connect(self.regenerate)
        self.prompt_panel.cancelRequested.connect(self.cancel_regenerate)
        self.variations_panel.previewRequested.connect(self.doc.set_preview)
        self.variations_panel.acceptRequested.connect(self.accept_variation)

    def _action(self, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:  # noqa: ANN001
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)  # shortcuts work whichever panel has focus
        return action

    def _build_actions(self) -> None:
        K = QKeySequence  # noqa: N806
        self.act_open = self._action("&Open…", self.open_dialog, K(K.StandardKey.Open), "Open a MIDI file or project (Ctrl+O)")
        self.act_demo = self._action("Open &Demo Song", self.load_demo, None, "Open the built-in demo song")
        self.act_save = self._action("&Save Project", self.save_project, K(K.StandardKey.Save), "Save the song with locks and prompts as a project (Ctrl+S)")
        self.act_save_as = self._action("Save Project &As…", self.save_project_as, K("Ctrl+Shift+S"))
        self.act_export = self._action("&Export MIDI…", self.export_midi, K("Ctrl+E"), "Export the edited song as a MIDI file (Ctrl+E)")
        self.act_render = self._action("&Render to WAV…", self.render_wav, K("Ctrl+Shift+E"), self.audio.render_reason)
        self.act_quit = self._action("&Quit", self.close, K(K.StandardKey.Quit))
        self.act_undo = self.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(K(K.StandardKey.Undo))
        self.act_redo = self.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        self.act_delete = self._action("&Delete Notes", self.delete_selection, [K(K.StandardKey.Delete), K("Backspace")], "Delete the picked notes, or every note in the region (Delete)")
        self.act_lock = self._action("&Lock / Unlock Notes", self.toggle_lock, K("L"), "Keep the picked notes when regenerating (L)")
        self.act_select_all = self._action("Select &Whole Song", self.select_all, K(K.StandardKey.SelectAll))
        self.act_escape = self._action("Clear Selection / Cancel", self.escape, K("Esc"))
        self.act_play = self._action("&Play / Stop", self.play_stop, K("Space"), self.audio.play_reason)
        self.act_regenerate = self._action("&Regenerate", self.regenerate, K("R"), "Fill the selected region with new music (R)")
        self.act_cancel = self._action("&Cancel Regeneration", self.cancel_regenerate, None)
        self.act_accept = self._action("&Accept Variation", self._accept_previewed, [K("Ctrl+Return"), K("Ctrl+Enter")])
        self.act_next_var = self._action("Next Variation", lambda: self._step_preview(1), K("]"))
        self.act_prev_var = self._action("Previous Variation", lambda: self._step_preview(-1), K("["))
        self.act_zoom_in = self._action("Zoom &In", lambda: self.canvas.set_zoom(self.canvas.px_per_tick * 1.25), K(K.StandardKey.ZoomIn))
        self.act_zoom_out = self._action("Zoom &Out", lambda: self.canvas.set_zoom(self.canvas.px_per_tick / 1.25), K(K.StandardKey.ZoomOut))
        self.act_fit = self._action("Zoom to &Fit", self.canvas.zoom_to_fit, K("Ctrl+0"))
        self.act_taller = self._action("Taller Lanes", lambda: self.canvas.set_lane_height(int(self.canvas.lane_height * 1.2)), K("Ctrl+Shift+="))
        self.act_shorter = self._action("Shorter Lanes", lambda: self.canvas.set_lane_height(int(self.canvas.lane_height / 1.2)), K("Ctrl+Shift+-"))

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.act_demo)
        file_menu.addSeparator()
        for a in (self.act_save, self.act_save_as, self.act_export, self.act_render):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo):
            edit.addAction(a)
        edit.addSeparator()
        for a in (self.act_delete, self.act_lock, self.act_select_all, self.act_escape):
            edit.addAction(a)
        track_menu = bar.addMenu("&Tracks")
        add_menu = track_menu.addMenu("&Add Track")
        for cat in CATEGORIES:
            add_menu.addAction(category_label(cat), lambda c=cat: self.add_track(c))
        view = bar.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_taller, self.act_shorter):
            view.addAction(a)
        view.addAction(self.side_dock.toggleViewAction())
        gen = bar.addMenu("&Generate")
        for a in (self.act_regenerate, self.act_cancel, self.act_accept, self.act_next_var, self.act_prev_var):
            gen.addAction(a)
        play = bar.addMenu("&Play")
        play.addAction(self.act_play)
        play.addAction(self.act_render)

        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        for a in (self.act_open, self.act_save, self.act_export):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_undo)
        tb.addAction(self.act_redo)
        tb.addSeparator()
        tb.addAction(self.act_play)
        tb.addSeparator()
        tb.addAction(self.act_zoom_out)
        tb.addAction(self.act_zoom_in)
        tb.addAction(self.act_fit)
        tb.addSeparator()
        tb.addAction(self.act_lock)
        tb.addAction(self.act_regenerate)
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # so Space reaches the Play shortcut

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

    def ask(self, title: str, text: str, default_yes: bool = False) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        default = QMessageBox.StandardButton.Yes if default_yes else QMessageBox.StandardButton.No
        return QMessageBox.question(self, title, text, buttons, default) == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------------------------- recovery
    def _init_recovery(self, recovery: RecoveryStore | None) -> None:
        """Find sessions that crashed, start this one's marker, and autosave every N seconds (settings)."""
        self._autosaved: tuple | None = None  # what the last autosave held, to skip identical rewrites
        self._crashed_sessions: list[CrashedSession] = []
        store = recovery if recovery is not None else RecoveryStore(self.settings.data_folder())
        try:
            self._crashed_sessions = store.crashed_sessions()
            store.start()
        except OSError as exc:  # a read-only or full disk must not stop the editor from opening
            print(f"Crash recovery is off: {store.folder} is not writable ({exc.strerror or exc})", file=sys.stderr)
            self.recovery: RecoveryStore | None = None
        else:
            self.recovery = store
            # A window that goes away without a clean close leaves its marker: the next one sees a crash.
            self.destroyed.connect(lambda *_: store.release())
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        seconds = self.settings.autosave_seconds()
        if self.recovery is not None and seconds > 0:
            self._autosave_timer.start(max(int(seconds * 1000), 1))

    def autosave(self) -> bool:
        """Write the unsaved song to the recovery folder (atomically, as a project file).

        Only when the song has unsaved changes and differs from the last autosave; returns whether a file
        was written. The user's own files are never touched.
        """
        if self.recovery is None or not self.doc.dirty:
            return False
        key = (self.doc.score, self.doc.locked, self.doc.selection, replace(self.doc.prompts))
        last = self._autosaved
        if last is not None and last[0] is key[0] and last[1:] == key[1:] and self.recovery.has_autosave():
            return False
        try:
            self.recovery.save(self.doc.project_state(), self.doc.title, self.doc.path, self.doc.project_path)
        except OSError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc.strerror or exc}", 8000)
            return False
        self._autosaved = key
        return True

    def offer_recovery(self) -> bool:
        """After a crash, offer the newest autosave back. Returns True if a song was restored.

        Declining deletes that autosave. Older autosaves (several crashed windows) wait for the next start.
        """
        if self.recovery is None:
            return False
        sessions, self._crashed_sessions = self._crashed_sessions, []
        self.last_session_crashed = bool(sessions)
        for session in sessions:
            if session.autosave is None:  # it crashed with nothing unsaved: only the marker is left
                self._discard_crashed(session)
        with_file = [s for s in sessions if s.autosave is not None]
        if not with_file:
            if sessions:
                self.statusBar().showMessage("The last session ended unexpectedly; it had no unsaved changes.", 8000)
            return False
        session = with_file[0]
        if not self.ask(
            "Restore unsaved work?",
            f"{APP_NAME} did not close normally last time.\n\nUnsaved changes to “{session.title}” were saved "
            f"automatically at {session.describe_time()}. Restore them?\n\n(No deletes the autosaved copy.)",
            default_yes=True,
        ):
            self._discard_crashed(session)
            return False
        try:
            state = session.read_state()
        except ValueError as exc:
            self.show_error("Cannot restore", f"The autosaved song could not be read: {exc}\n\nIt was kept in {session.autosave}.")
            return False
        self._set_document(state.score, None, None, session.title)
        self.doc.path = Path(session.path) if session.path else None  # Save asks where; it never overwrites silently
        self.doc.locked, self.doc.prompts = state.locked, state.prompts
        self.prompt_panel.set_prompts(state.prompts)
        self.doc.set_selection(state.selection)
        self.doc.changed.emit("score")
        self.undo_stack.resetClean()  # unsaved until the user saves: dirty even after undoing everything
        self.autosave()  # this session holds it now, before the old copy goes
        self._discard_crashed(session)
        self.statusBar().showMessage(f"Restored the autosaved “{session.title}”. Save it to keep it.", 8000)
        return True

    def _discard_crashed(self, session: CrashedSession) -> None:
        if self.recovery is not None:
            try:
                self.recovery.discard(session)
            except OSError as exc:
                print(f"cannot delete {session.autosave or session.marker}: {exc}", file=sys.stderr)

    # ---------------------------------------------------------------------------------- files
    def load_demo(self) -> bool:
        if DEMO_SONG.exists() and self.open_file(DEMO_SONG, remember=False):
            return True
        from engine.demo import demo_score  # the resource is missing: build the song in memory

        self._set_document(demo_score(), None, None, "Demo song")
        return True

    def open_dialog(self) -> None:
        start = self.settings.last_folder() or str(DEMO_SONG.parent)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open song", start, f"Songs (*{' *'.join(OPENABLE)});;MIDI files (*.mid *.midi);;Projects (*{PROJECT_SUFFIX});;All files (*)"
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: str | Path, remember: bool = True) -> bool:
        """Open a song. On any failure the current document stays exactly as it was."""
        path = Path(path)
        try:
            score, state = read_song(path)
        except (StudioError, ValueError) as exc:
            self.show_error("Cannot open file", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - an unexpected parser bug must not kill the window
            self.show_error("Cannot open file", f"{path.name}: unexpected error ({type(exc).__name__}: {exc})", traceback.format_exc())
            return False
        if self.doc.dirty and not self.ask("Discard changes?", f"“{self.doc.title}” has unsaved changes. Open {path.name} anyway and discard them?"):
            return False
        self._set_document(score, path, state)
        if remember:
            self.settings.add_recent_file(path)
            self.settings.set_last_folder(path.parent)
        self.statusBar().showMessage(f"Opened {path.name}: {len(score.tracks)} tracks, {score.n_notes:,} notes", 5000)
        return True

    def _set_document(self, score: Score, path: Path | None, state: ProjectState | None, title: str | None = None) -> None:
        self._stop_playback()
        if self._infill is not None:
            self.cancel_regenerate()
        self.undo_stack.clear()
        if state is not None and path is not None:
            self.doc.load_project(state, path)
            self.prompt_panel.set_prompts(self.doc.prompts)
        else:
            prompts = self.doc.prompts
            self.doc.load(score, path, title)
            self.doc.prompts = prompts
        try:
            self.prompt_panel.set_song_tempo_class(score_tempo_class(score))
        except ValueError:
            pass
        self.canvas.request_fit()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for f in files:
            self.recent_menu.addAction(Path(f).name, lambda f=f: self.open_file(Path(f))).setToolTip(f)
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent_files)

    def _ask_save_path(self, title: str, suggested: Path, file_filter: str) -> Path | None:
        """The save dialog; overwriting is confirmed by ``confirm_overwrite`` so the rule lives in one place."""
        path, _ = QFileDialog.getSaveFileName(self, title, str(suggested), file_filter, options=QFileDialog.Option.DontConfirmOverwrite)
        return Path(path) if path else None

    def confirm_overwrite(self, path: Path) -> bool:
        """Never replace an existing file silently; the song's own file gets a sterner question."""
        if not path.exists():
            return True
        if self.doc.path is not None and _same_file(path, self.doc.path):
            return self.ask(
                "Overwrite the original?",
                f"{path.name} is the file this song was opened from.\n\nReplace the original with the edited version? "
                f"(Choose No and export as {default_export_name(self.doc.path)} to keep both.)",
            )
        return self.ask("Replace file?", f"{path.name} already exists. Replace it?")

    def _folder(self) -> Path:
        if self.doc.path is not None:
            return self.doc.path.parent
        return Path(self.settings.last_folder() or Path.home())

    def export_midi(self, path: str | Path | None = None) -> bool:
        if path is None:
            suggested = self._folder() / default_export_name(self.doc.path, self.doc.title)
            path = self._ask_save_path("Export MIDI", suggested, "MIDI files (*.mid *.midi)")
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() not in MIDI_SUFFIXES:
            path = path.with_suffix(".mid")
        if not self.confirm_overwrite(path):
            self.statusBar().showMessage("Export cancelled; nothing was written.", 5000)
            return False
        try:
            write_midi(self.doc.score, path)
        except StudioError as exc:
            self.show_error("Export failed", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001
            self.show_error("Export failed", f"{path.name}: {type(exc).__name__}: {exc}", traceback.format_exc())
            return False
        self.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.statusBar().showMessage(f"Exported {path.name}", 5000)
        return True

    def save_project(self) -> bool:
        if self.doc.project_path is None:
            return self.save_project_as()
        return self._write_project(self.doc.project_path)

    def save_project_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            stem = self.doc.path.stem if self.doc.path is not None else "song"
            path = self._ask_save_path("Save project", self._folder() / f"{stem}{PROJECT_SUFFIX}", f"Projects (*{PROJECT_SUFFIX})")
            if path is None:
                return False
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        if not (self.doc.project_path is not None and _same_file(path, self.doc.project_path)) and not self.confirm_overwrite(path):
            return False
        return self._write_project(path)

    def _write_project(self, path: Path) -> bool:
        try:
            atomic_write_bytes(path, self.doc.project_state().to_json())
        except OSError as exc:
            self.show_error("Save failed", f"{path.name}: cannot be written ({exc.strerror or exc})")
            return False
        self.doc.project_path = path
        self.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.statusBar().showMessage(f"Saved project {path.name}", 5000)
        return True

    def render_wav(self, path: str | Path | None = None) -> bool:
        if not self.audio.render_ok:
            self.show_error("Render to WAV", self.audio.render_reason)
            return False
        if path is None:
            stem = self.doc.path.stem if self.doc.path is not None else "song"
            path = self._ask_save_path("Render to WAV", self._folder() / f"{stem}-edited.wav", "WAV audio (*.wav)")
            if path is None:
                return False
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.audio.render_to_wav(self.doc.displayed_score(), path)
        except Exception as exc:  # noqa: BLE001 - soundfont and disk problems alike
            self.show_error("Render failed", str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.statusBar().showMessage(f"Rendered {path.name}", 5000)
        return True

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
        QTimer.singleShot(0, lambda: self.open_file(path))

    # ----------------------------------------------------------------------------------- edits
    def _guard_preview(self) -> bool:
        """Edits apply to the song, not to a variation being auditioned."""
        if self.doc.preview_index is not None:
            self.statusBar().showMessage("Auditioning a variation: Accept it or go Back to song (Esc) before editing.", 6000)
            return False
        return True

    def _push(self, text: str, score: Score, locked: frozenset[NoteKey] | None = None, selected: set[NoteKey] | None = None) -> None:
        self.undo_stack.push(ReplaceStateCommand(self.doc, text, score, locked, selected))

    def delete_selection(self) -> None:
        if not self._guard_preview():
            return
        keys = set(self.doc.selected_notes) or self.doc.notes_in_selection()
        if not keys:
            self.statusBar().showMessage("Nothing to delete: pick notes or draw a region first.", 4000)
            return
        self._push(f"Delete {len(keys)} note{'s' * (len(keys) != 1)}", delete_notes(self.doc.score, keys), self.doc.locked - keys, set())

    def toggle_lock(self) -> None:
        if not self._guard_preview():
            return
        keys = set(self.doc.selected_notes)
        if not keys:
            self.statusBar().showMessage("Pick notes first (click, Ctrl+click), then press L to lock them.", 4000)
            return
        if keys <= self.doc.locked:
            self._push(f"Unlock {len(keys)} notes", self.doc.score, self.doc.locked - keys)
        else:
            self._push(f"Lock {len(keys)} notes", self.doc.score, self.doc.locked | keys)

    def _on_notes_moved(self, keys: set[NoteKey], d_tick: int, d_pitch: int) -> None:
        if not self._guard_preview():
            return
        score, moved = move_notes(self.doc.score, keys, d_tick, d_pitch)
        locked = frozenset(k for k in self.doc.locked if k not in keys)
        moved_locked = {(t, max(0, s + d_tick), min(127, max(0, p + d_pitch))) for t, s, p in keys & self.doc.locked}
        self._push(f"Move {len(keys)} notes", score, locked | moved_locked, moved)

    def _on_note_added(self, track: int, note: Note) -> None:
        if self._guard_preview():
            self._push("Draw note", add_note(self.doc.score, track, note), None, {(track, note.start, note.pitch)})

    def add_track(self, category: str) -> None:
        if self._guard_preview():
            self._push(f"Add {category_label(category)} track", add_track(self.doc.score, category))

    def remove_track(self, index: int) -> None:
        if not self._guard_preview() or not 0 <= index < len(self.doc.score.tracks):
            return
        name = self.doc.track_names()[index]
        self._push(f"Remove track {name}", remove_track(self.doc.score, index), remap_keys_after_track_removal(self.doc.locked, index), set())

    def _edit_track(self, index: int, text: str, category: str | None = None, program: int | None = None) -> None:
        if self._guard_preview() and index < len(self.doc.score.tracks):
            self._push(text, set_track_instrument(self.doc.score, index, category, program))

    def _on_track_renamed(self, index: int, name: str) -> None:
        if index < len(self.doc.score.tracks) and name and name != self.doc.score.tracks[index].name and self._guard_preview():
            self._push(f"Rename track to {name}", rename_track(self.doc.score, index, name))

    def _on_track_clicked(self, index: int, modifiers) -> None:  # noqa: ANN001
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
        if self._infill is not None:
            self.cancel_regenerate()
        elif self.doc.preview_index is not None:
            self.doc.set_preview(None)
        else:
            self.doc.set_selected_notes(set())
            self.doc.set_selection(None)

    def _show_context_menu(self, pos) -> None:  # noqa: ANN001
        menu = QMenu(self)
        for a in (self.act_lock, self.act_delete):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.act_regenerate)
        menu.addAction(self.act_escape)
        menu.popup(pos)

    # -------------------------------------------------------------------------------- regenerate
    def start_model_loading(self) -> None:
        """Load the model in the background right after start-up; Regenerate waits for it if needed."""
        if self._loader is not None or self.model_state == "ready":
            return
        self.model_state = "loading"
        self.status_model.setText(f"Model: loading ({self.backend.name})…")
        worker = LoadWorker(self.backend)
        worker.loaded.connect(self._on_model_loaded)
        worker.errored.connect(self._on_model_failed)
        self._loader = WorkerThread(worker, [worker.loaded, worker.errored])
        self._loader.thread.finished.connect(self._on_loader_finished)
        self._loader.start()

    def _on_model_loaded(self) -> None:
        self.model_state, self.model_error = "ready", None
        self.status_model.setText(f"Model: ready ({self.backend.name})")

    def _on_model_failed(self, message: str) -> None:
        self.model_state, self.model_error = "unavailable", message
        self.status_model.setText("Model: unavailable")
        self.status_model.setToolTip(message)

    def _on_loader_finished(self) -> None:
        if self._loader is not None:
            self._loader.join()
        self._loader = None

    def regenerate(self) -> None:
        if self._infill is not None:
            return
        if self.model_state == "unavailable" and self.model_error:
            self.show_error("Regenerate unavailable", self.model_error)
            return
        if self.doc.preview_index is not None:
            self.doc.set_preview(None)
        try:
            request = self.doc.build_request()
        except ValueError as exc:
            QMessageBox.information(self, "Nothing selected", str(exc))
            return
        self.prompt_panel.set_prompts(self.doc.prompts)  # shows the advanced seed
        self.settings.save_prompts(self.doc.prompts)
        self.autosave()  # the model is the riskiest thing we run: keep the song safe first
        worker = InfillWorker(self.backend, request)
        worker.progress.connect(self.prompt_panel.set_progress)
        worker.finished.connect(self._on_infill_finished)
        worker.errored.connect(self._on_infill_failed)
        worker.cancelled.connect(self._on_infill_cancelled)
        self._infill = WorkerThread(worker, [worker.finished, worker.errored, worker.cancelled])
        self._infill.thread.finished.connect(self._on_infill_thread_done)
        self.prompt_panel.set_busy(True)
        self._update_actions()
        self.statusBar().showMessage(f"Regenerating {request.selection.describe(self.doc.track_names())}…")
        self._infill.start()

    def cancel_regenerate(self) -> None:
        if self._infill is not None:
            worker = self._infill.worker
            if isinstance(worker, InfillWorker):
                worker.cancel()
            self.prompt_panel.progress.setFormat("Cancelling…")

    def _on_infill_finished(self, scores: list[Score], request: InfillRequest) -> None:
        self.prompt_panel.set_idle(f"{len(scores)} variation{'s' * (len(scores) != 1)} ready")
        self.doc.set_variations(scores, request.score, request.prompts.seed)
        self.statusBar().showMessage("Variations ready: click one to audition, Accept to keep it.", 8000)

    def _on_infill_failed(self, message: str, details: str) -> None:
        self.prompt_panel.set_idle("Failed")
        self.show_error("Regenerate failed", message, details)

    def _on_infill_cancelled(self) -> None:
        self.prompt_panel.set_idle("Cancelled")
        self.statusBar().showMessage("Regeneration cancelled; the song is unchanged.", 5000)

    def _on_infill_thread_done(self) -> None:
        if self._infill is not None:
            self._infill.join()
        self._infill = None
        self.prompt_panel.set_busy(False)
        self._update_actions()

    def is_busy(self) -> bool:
        return self._infill is not None

    def accept_variation(self, index: int) -> None:
        if not 0 <= index < len(self.doc.variations):
            return
        current = self.doc.score
        swapped = any(current is v for v in self.doc.variations)  # trying another take is not an edit
        if self.doc.variation_base is not None and self.doc.variation_base is not current and not swapped:
            if not self.ask("Song changed", "The song was edited after these variations were made. Accepting replaces those edits. Continue?"):
                return
        self.undo_stack.push(AcceptVariationCommand(self.doc, index))
        self.statusBar().showMessage(f"Accepted variation {index + 1} (Ctrl+Z to undo).", 5000)

    def _accept_previewed(self) -> None:
        if self.doc.preview_index is not None:
            self.accept_variation(self.doc.preview_index)

    def _step_preview(self, step: int) -> None:
        n = len(self.doc.variations)
        if n:
            current = -1 if self.doc.preview_index is None else self.doc.preview_index
            self.doc.set_preview((current + step) % n)

    # ----------------------------------------------------------------------------------- audio
    def play_stop(self) -> None:
        if not self.audio.play_ok:
            self.statusBar().showMessage(self.audio.play_reason, 6000)
            return
        if self._play_timer.isActive():
            self._stop_playback()
            return
        loop = None
        start = self.doc.playhead
        if self.doc.selection is not None:  # audition the region on repeat, as a sampler would
            loop = region_ticks(self.doc.grid, self.doc.selection)
            if not loop[0] <= start < loop[1]:
                start = loop[0]
        try:
            self.audio.play(self.doc.displayed_score(), start, self.doc.muted, self.doc.soloed, loop)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Playback failed", str(exc))
            return
        self._play_timer.start()

    def _stop_playback(self) -> None:
        self._play_timer.stop()
        self.audio.stop()

    def _poll_playback(self) -> None:
        tick = self.audio.position_tick()
        if tick is not None:
            self.doc.set_playhead(tick)
            self.canvas.ensure_tick_visible(tick)
        if not self.audio.is_playing():
            self._play_timer.stop()

    def _on_playhead_clicked(self, tick: int) -> None:
        self.doc.set_playhead(tick)
        if self._play_timer.isActive():
            self._stop_playback()
            self.play_stop()

    # ------------------------------------------------------------------------------- observers
    def _on_doc_changed(self, kind: str) -> None:
        if kind in ("score", "preview", "variations"):
            self.tracks_panel.rebuild()
            self.variations_panel.refresh() if kind != "preview" else self.variations_panel.sync_preview()
            self.canvas.set_scroll(tick=self.canvas.scroll_tick, y=self.canvas.scroll_y)
            if self._play_timer.isActive() and kind == "preview":
                self._stop_playback()
                self.play_stop()
        elif kind in ("selection", "notes"):
            self.tracks_panel.refresh()
            self.canvas.update()
        elif kind == "mix":
            self.audio.set_mix(self.doc.muted, self.doc.soloed)
            self.tracks_panel.refresh()
        elif kind == "playhead":
            self.canvas.update()
        elif kind == "path":
            self.setWindowTitle(f"{self.doc.title}[*] — {APP_NAME}")
            self.setWindowModified(self.doc.dirty)
            if not self.doc.dirty and self.recovery is not None:  # saved, or replaced on purpose
                self._autosaved = None
                try:
                    self.recovery.discard_autosave()
                except OSError:
                    pass
        if kind in ("selection", "score", "variations", "preview"):
            sel = self.doc.selection
            text = sel.describe(self.doc.track_names()) if sel is not None else "No region selected — drag over the piano roll, or click track headers."
            self.prompt_panel.set_region_text(text)
            self.status_selection.setText(f"Region: {text}" if sel is not None else "")
            self._update_actions()

    def _on_prompts_changed(self, prompts) -> None:  # noqa: ANN001
        self.doc.set_prompts(prompts)
        self.settings.save_prompts(prompts)

    def _update_actions(self) -> None:
        busy = self._infill is not None
        self.act_regenerate.setEnabled(not busy)
        self.act_cancel.setEnabled(busy)
        self.act_accept.setEnabled(self.doc.preview_index is not None)
        self.act_play.setEnabled(self.audio.play_ok)
        self.act_play.setToolTip(self.audio.play_reason)
        self.act_render.setEnabled(self.audio.render_ok)
        self.act_render.setToolTip(self.audio.render_reason)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        self.canvas.setFocus()  # so Space, R, L and Delete act on the song, not on a track-name field

    # ------------------------------------------------------------------------------------ close
    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Stop audio and background threads: a QThread destroyed while running would abort the process."""
        self._stop_playback()
        self.audio.close()
        for job in (self._infill, self._loader):
            if job is not None:
                job.stop(wait_ms)
        self._infill = None

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
        self._autosave_timer.stop()
        if self.recovery is not None:  # a clean exit: no autosave, no marker
            try:
                self.recovery.finish()
            except OSError as exc:
                print(f"cannot clean up {self.recovery.folder}: {exc}", file=sys.stderr)
        event.accept()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


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
