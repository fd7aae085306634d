"""File handling: open (dialog, recent, drop, demo), save project, export MIDI, render WAV.

One rule per concern: a failed open leaves the document exactly as it was; a save never replaces a file
without asking; dialogs start in the folder last used (else home), never inside the application's own folder.
Opening a song resets what belongs to the old song (its variations, its prompts) and keeps only the
musician's preferences (issue 18, item 2).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from app.document import PROJECT_SUFFIX, ProjectState, default_export_name
from engine.analysis.tempo import score_tempo_class
from engine.errors import StudioError
from engine.files import atomic_write_bytes
from engine.midi_io import load_warnings, write_midi
from engine.score import Score

if TYPE_CHECKING:
    from app.main_window import MainWindow

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi", ".smf")
OPENABLE = (*MIDI_SUFFIXES, PROJECT_SUFFIX)


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


class FileController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.settings = window.settings

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------------------ folders
    def start_folder(self) -> Path:
        """Where Open and Save dialogs start: the folder last used, else the home folder."""
        last = self.settings.last_folder()
        if last and Path(last).is_dir():
            return Path(last)
        return Path.home()

    def remember_folder(self, path: Path) -> None:
        self.settings.set_last_folder(path.parent)

    # -------------------------------------------------------------------------------- open
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Open song",
            str(self.start_folder()),
            f"Songs (*{' *'.join(OPENABLE)});;MIDI files (*.mid *.midi);;Projects (*{PROJECT_SUFFIX});;All files (*)",
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: str | Path, remember: bool = True) -> bool:
        """Open a song. On any failure the current document stays exactly as it was."""
        from app.main_window import read_song  # the window module owns the reader (and tests patch it there)

        w = self.window
        path = Path(path)
        try:
            score, state = read_song(path)
        except (StudioError, ValueError) as exc:
            w.show_error("Cannot open file", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - an unexpected parser bug must not kill the window
            w.show_error("Cannot open file", f"{path.name}: unexpected error ({type(exc).__name__}: {exc})", traceback.format_exc())
            return False
        if state is None:
            score = self._with_beat_map(score, path)
        if self.doc.dirty and not w.ask("Discard changes?", f"“{self.doc.title}” has unsaved changes. Open {path.name} anyway and discard them?"):
            return False
        self.set_document(score, path, state)
        if remember:
            self.settings.add_recent_file(path)
            self.remember_folder(path)
        warnings = load_warnings(self.doc.score)
        self.doc.set_file_warnings(f"Reading {path.name}", warnings)
        more = f" · {len(warnings)} warning{'s' * (len(warnings) != 1)}: {warnings[0]} (details: the ⚠ line above the roll)" if warnings else ""
        self._status(f"Opened {path.name}: {len(score.tracks)} tracks, {score.n_notes:,} notes{more}", 10000 if warnings else 5000)
        return True

    @staticmethod
    def _with_beat_map(score: Score, path: Path) -> Score:
        """A POP909 ``beat_midi.txt`` beside the file gives the bar grid (its MIDI declares 1/4 or 2/4)."""
        from engine.analysis.meter import beats_beside

        try:
            return beats_beside(path, score) or score
        except (OSError, ValueError):
            return score  # a broken beat file must not stop the song from opening

    def set_document(self, score: Score, path: Path | None, state: ProjectState | None, title: str | None = None) -> None:
        """Replace the song. Per-song prompts reset to the remembered preferences unless a project brings its own."""
        w = self.window
        w.playback.stop()
        w.undo_stack.clear()
        preferences = self.doc.prompts.preferences()
        if state is not None and path is not None:
            self.doc.load_project(state, path)
        else:
            self.doc.load(score, path, title)
            self.doc.prompts = preferences
        w.regen.song_opened()
        try:
            w.prompt_panel.set_song_tempo_class(score_tempo_class(score))
        except ValueError:
            pass
        w.canvas.request_fit()

    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        files = self.settings.recent_files()
        for f in files:
            menu.addAction(Path(f).name, lambda f=f: self.open_file(Path(f))).setToolTip(f)
        if not files:
            menu.addAction("(none)").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear list", self.settings.clear_recent_files)

    # -------------------------------------------------------------------------------- save
    def ask_save_path(self, title: str, suggested: Path, file_filter: str) -> Path | None:
        """The save dialog; overwriting is confirmed by ``confirm_overwrite`` so the rule lives in one place."""
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(suggested), file_filter, options=QFileDialog.Option.DontConfirmOverwrite)
        return Path(path) if path else None

    def confirm_overwrite(self, path: Path) -> bool:
        """Never replace an existing file silently; the song's own file gets a sterner question."""
        if not path.exists():
            return True
        if self.doc.path is not None and same_file(path, self.doc.path):
            return self.window.ask(
                "Overwrite the original?",
                f"{path.name} is the file this song was opened from.\n\nReplace the original with the edited version? "
                f"(Choose No and export as {default_export_name(self.doc.path)} to keep both.)",
            )
        return self.window.ask("Replace file?", f"{path.name} already exists. Replace it?")

    def export_midi(self, path: str | Path | None = None) -> bool:
        w = self.window
        if path is None:
            suggested = self.start_folder() / default_export_name(self.doc.path, self.doc.title)
            path = self.ask_save_path("Export MIDI", suggested, "MIDI files (*.mid *.midi)")
            if path is None:
                return False
        path = Path(path)
        if path.suffix.lower() not in MIDI_SUFFIXES:
            path = path.with_suffix(".mid")
        if not self.confirm_overwrite(path):
            self._status("Export cancelled; nothing was written.")
            return False
        try:
            warnings = write_midi(self.doc.score, path)
        except StudioError as exc:
            w.show_error("Export failed", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001
            w.show_error("Export failed", f"{path.name}: {type(exc).__name__}: {exc}", traceback.format_exc())
            return False
        w.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.remember_folder(path)
        if warnings:
            self.doc.set_file_warnings(f"Writing {path.name}", warnings)
            n = len(warnings)
            self._status(f"Exported {path.name} with {n} warning{'s' * (n != 1)}: {warnings[0]} (details: the ⚠ line above the roll)", 10000)
        else:
            self._status(f"Exported {path.name}")
        return True

    def save_project(self) -> bool:
        if self.doc.project_path is None:
            return self.save_project_as()
        return self._write_project(self.doc.project_path)

    def save_project_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            stem = self.doc.path.stem if self.doc.path is not None else "song"
            path = self.ask_save_path("Save project", self.start_folder() / f"{stem}{PROJECT_SUFFIX}", f"Projects (*{PROJECT_SUFFIX})")
            if path is None:
                return False
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        if not (self.doc.project_path is not None and same_file(path, self.doc.project_path)) and not self.confirm_overwrite(path):
            return False
        return self._write_project(path)

    def _write_project(self, path: Path) -> bool:
        try:
            atomic_write_bytes(path, self.doc.project_state().to_json())
        except OSError as exc:
            self.window.show_error("Save failed", f"{path.name}: cannot be written ({exc.strerror or exc})")
            return False
        self.doc.project_path = path
        self.window.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.remember_folder(path)
        self._status(f"Saved project {path.name}")
        return True

    def render_wav(self, path: str | Path | None = None) -> bool:
        w = self.window
        audio = w.audio
        if not audio.render_ok:
            w.show_error("Render to WAV", audio.render_reason)
            return False
        if path is None:
            stem = self.doc.path.stem if self.doc.path is not None else "song"
            path = self.ask_save_path("Render to WAV", self.start_folder() / f"{stem}-edited.wav", "WAV audio (*.wav)")
            if path is None:
                return False
        path = Path(path)
        if not self.confirm_overwrite(path):
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            audio.render_to_wav(self.doc.displayed_score(), path)
        except Exception as exc:  # noqa: BLE001 - soundfont and disk problems alike
            w.show_error("Render failed", str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.remember_folder(path)
        self._status(f"Rendered {path.name}")
        return True
