"""Crash recovery for the window: autosave the unsaved song now and then, and offer it back after a crash.

``app.recovery.RecoveryStore`` owns the files (markers, autosaves); this controller decides when to write
and what to restore, and never touches the user's own files.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from app.recovery import CrashedSession, RecoveryStore

if TYPE_CHECKING:
    from app.main_window import MainWindow


class RecoveryController(QObject):
    def __init__(self, window: MainWindow, store: RecoveryStore | None = None) -> None:
        """Find sessions that crashed, start this one's marker, and autosave every N seconds (settings)."""
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.last_session_crashed = False  # set by offer
        self._autosaved: tuple | None = None  # what the last autosave held, to skip identical rewrites
        self._crashed_sessions: list[CrashedSession] = []
        store = store if store is not None else RecoveryStore(window.settings.data_folder())
        self.store: RecoveryStore | None
        try:
            self._crashed_sessions = store.crashed_sessions()
            store.start()
        except OSError as exc:  # a read-only or full disk must not stop the editor from opening
            print(f"Crash recovery is off: {store.folder} is not writable ({exc.strerror or exc})", file=sys.stderr)
            self.store = None
        else:
            self.store = store
            # A window that goes away without a clean close leaves its marker: the next one sees a crash.
            window.destroyed.connect(lambda *_: store.release())
        self.timer = QTimer(window)
        self.timer.timeout.connect(self.autosave)
        seconds = window.settings.autosave_seconds()
        if self.store is not None and seconds > 0:
            self.timer.start(max(int(seconds * 1000), 1))

    def autosave(self) -> bool:
        """Write the unsaved song to the recovery folder (atomically, as a project file).

        Only when the song has unsaved changes and differs from the last autosave; returns whether a file
        was written. The user's own files are never touched.
        """
        if self.store is None or not self.doc.dirty:
            return False
        key = (self.doc.score, self.doc.locked, self.doc.selection, replace(self.doc.prompts))
        last = self._autosaved
        if last is not None and last[0] is key[0] and last[1:] == key[1:] and self.store.has_autosave():
            return False
        try:
            self.store.save(self.doc.project_state(), self.doc.title, self.doc.path, self.doc.project_path)
        except OSError as exc:
            self.window.statusBar().showMessage(f"Autosave failed: {exc.strerror or exc}", 8000)
            return False
        self._autosaved = key
        return True

    def song_saved(self) -> None:
        """Saved (or replaced on purpose): an autosave of the old state would only mislead."""
        if self.store is None:
            return
        self._autosaved = None
        try:
            self.store.discard_autosave()
        except OSError:
            pass

    def offer(self) -> bool:
        """After a crash, offer the newest autosave back. Returns True if a song was restored.

        Declining deletes that autosave. Older autosaves (several crashed windows) wait for the next start.
        """
        from app.main_window import APP_NAME

        w, doc = self.window, self.doc
        if self.store is None:
            return False
        sessions, self._crashed_sessions = self._crashed_sessions, []
        self.last_session_crashed = bool(sessions)
        for session in sessions:
            if session.autosave is None:  # it crashed with nothing unsaved: only the marker is left
                self._discard_crashed(session)
        with_file = [s for s in sessions if s.autosave is not None]
        if not with_file:
            if sessions:
                w.statusBar().showMessage("The last session ended unexpectedly; it had no unsaved changes.", 8000)
            return False
        session = with_file[0]
        if not w.ask(
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
            w.show_error("Cannot restore", f"The autosaved song could not be read: {exc}\n\nIt was kept in {session.autosave}.")
            return False
        w.files.set_document(state.score, None, None, session.title)
        doc.path = Path(session.path) if session.path else None  # Save asks where; it never overwrites silently
        doc.locked, doc.prompts = state.locked, state.prompts
        w.prompt_panel.set_prompts(state.prompts)
        doc.set_selection(state.selection)
        doc.changed.emit("score")
        w.undo_stack.resetClean()  # unsaved until the user saves: dirty even after undoing everything
        self.autosave()  # this session holds it now, before the old copy goes
        self._discard_crashed(session)
        w.statusBar().showMessage(f"Restored the autosaved “{session.title}”. Save it to keep it.", 8000)
        return True

    def _discard_crashed(self, session: CrashedSession) -> None:
        if self.store is not None:
            try:
                self.store.discard(session)
            except OSError as exc:
                print(f"cannot delete {session.autosave or session.marker}: {exc}", file=sys.stderr)

    def finish(self) -> None:
        """A clean exit: stop autosaving, remove this session's autosave and marker."""
        self.timer.stop()
        if self.store is not None:
            try:
                self.store.finish()
            except OSError as exc:
                print(f"cannot clean up {self.store.folder}: {exc}", file=sys.stderr)
