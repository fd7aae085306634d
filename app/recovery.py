"""Crash recovery without Qt: autosave files and a per-session "clean exit" marker.

Everything lives in one folder the window is given (the app's data folder, see
``AppSettings.data_folder``; tests pass a temporary one)::

    recovery/session-<id>.json      the marker: written when a window starts, deleted on a clean close
    recovery/autosave-<id>.pdsproj  the unsaved song, in exactly the format "Save Project" writes

Each window is one session with a random id, so two copies of the editor never touch each other's files,
and the store only ever writes names it made up inside its own folder: a user's song or project is never
written here. Both files are written with ``engine.files.atomic_write_bytes``, so a crash while saving
leaves the previous autosave whole.

At start-up a marker whose session is no longer running means that session crashed (or was killed): its
autosave, if any, is offered back. "No longer running" is decided from the marker: another process that
is gone (pid not alive, or alive but started at another time, or the machine rebooted since), or a session
of this very process whose window went away without a clean close (``release``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.document import PROJECT_SUFFIX, ProjectState
from engine.files import atomic_write_bytes

RECOVERY_DIR = "recovery"
MARKER_PREFIX = "session-"
AUTOSAVE_PREFIX = "autosave-"
DEFAULT_AUTOSAVE_SECONDS = 60.0

# Sessions of this process that are still open: a marker of ours whose id is not here was left behind by
# a window that went away without closing cleanly.
_LIVE_SESSIONS: set[str] = set()


def _boot_id() -> str | None:
    """Changes at every reboot (Linux); a marker from another boot cannot belong to a running process."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid from the original."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the command name may contain spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # no cheap, safe probe without extra packages: assume it runs (never steal its files)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


@dataclass(frozen=True)
class CrashedSession:
    """A session that ended without a clean close, and what it left."""

    session_id: str
    marker: Path | None
    autosave: Path | None  # None: the song had no unsaved changes when it stopped
    title: str = "Untitled"
    path: str | None = None  # the file the song came from (MIDI or project)
    project_path: str | None = None  # where "Save" wrote without asking
    saved_at: float | None = None  # when the autosave was written (seconds since the epoch)

    def read_state(self) -> ProjectState:
        """The autosaved song. Raises ValueError (damaged or missing file) with a readable message."""
        if self.autosave is None:
            raise ValueError("this session left no autosave")
        try:
            data = self.autosave.read_bytes()
        except OSError as exc:
            raise ValueError(f"{self.autosave.name}: cannot be read ({exc.strerror or exc})") from exc
        return ProjectState.from_json(data, self.autosave.name)

    def describe_time(self) -> str:
        if self.saved_at is None:
            return "an unknown time"
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))


class RecoveryStore:
    """One editor window's autosave file and marker. All methods may raise OSError (disk full, read-only)."""

    def __init__(self, folder: str | Path, session_id: str | None = None) -> None:
        self.root = Path(folder)
        self.folder = self.root / RECOVERY_DIR
        self.session_id = session_id or uuid.uuid4().hex
        self.marker_path = self.folder / f"{MARKER_PREFIX}{self.session_id}.json"
        self.autosave_path = self.folder / f"{AUTOSAVE_PREFIX}{self.session_id}{PROJECT_SUFFIX}"
        self.started = time.time()
        self._info: dict[str, Any] = {"title": "Untitled", "path": None, "project_path": None, "saved_at": None}

    # ---- this session
    def start(self) -> None:
        """Write the marker: from now until ``finish`` this session counts as running."""
        _LIVE_SESSIONS.add(self.session_id)
        self._write_marker()

    def save(self, state: ProjectState, title: str, path: str | Path | None = None, project_path: str | Path | None = None) -> Path:
        """Autosave ``state`` (atomically) and note in the marker what it is; returns the file written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.autosave_path, state.to_json(), mode=0o600)  # unsaved work stays private
        self._info = {
            "title": title,
            "path": None if path is None else str(path),
            "project_path": None if project_path is None else str(project_path),
            "saved_at": time.time(),
        }
        _LIVE_SESSIONS.add(self.session_id)
        self._write_marker()
        return self.autosave_path

    def has_autosave(self) -> bool:
        return self.autosave_path.exists()

    def discard_autosave(self) -> None:
        """The song was saved or replaced: its autosave would only mislead after a crash."""
        if self.autosave_path.exists():
            self.autosave_path.unlink(missing_ok=True)
            self._info["saved_at"] = None
            if self.marker_path.exists():
                self._write_marker()

    def finish(self) -> None:
        """Clean exit: remove the autosave and the marker. Idempotent."""
        _LIVE_SESSIONS.discard(self.session_id)
        self.autosave_path.unlink(missing_ok=True)
        self.marker_path.unlink(missing_ok=True)

    def release(self) -> None:
        """The window is gone without ``finish``: leave the files, so the next window sees a crash."""
        _LIVE_SESSIONS.discard(self.session_id)

    def _write_marker(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = {
            "format": "pop-diffuseq-studio session",
            "session": self.session_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "boot_id": _boot_id(),
            "process_start": _process_start(os.getpid()),
            "started": self.started,
            "autosave": self.autosave_path.name if self.autosave_path.exists() else None,
            **self._info,
        }
        atomic_write_bytes(self.marker_path, json.dumps(marker, indent=1).encode("utf-8"), mode=0o600)

    # ---- sessions that did not close cleanly
    def crashed_sessions(self) -> list[CrashedSession]:
        """Sessions (other than this one) that ended without a clean close, newest autosave first."""
        if not self.folder.is_dir():
            return []
        found: dict[str, CrashedSession] = {}
        running: set[str] = {self.session_id}
        for marker in self.folder.glob(f"{MARKER_PREFIX}*.json"):
            session_id = marker.stem[len(MARKER_PREFIX) :]
            if session_id == self.session_id:
                continue
            try:
                info = json.loads(marker.read_text(encoding="utf-8"))
                if not isinstance(info, dict):
                    raise ValueError("not an object")
            except (OSError, UnicodeDecodeError, ValueError):
                info = {}  # damaged marker: its autosave (if any) is still worth offering
            if info and self._still_running(info, session_id):
                running.add(session_id)
                continue
            found[session_id] = self._crashed(session_id, marker, info)
        # An autosave whose marker is gone (deleted by hand, or a crash between the two writes).
        for autosave in self.folder.glob(f"{AUTOSAVE_PREFIX}*{PROJECT_SUFFIX}"):
            session_id = autosave.name[len(AUTOSAVE_PREFIX) : -len(PROJECT_SUFFIX)]
            if session_id not in running and session_id not in found and session_id not in _LIVE_SESSIONS:
                found[session_id] = self._crashed(session_id, None, {})
        return sorted(found.values(), key=lambda s: (s.autosave is not None, s.saved_at or 0.0), reverse=True)

    def _crashed(self, session_id: str, marker: Path | None, info: dict[str, Any]) -> CrashedSession:
        autosave = self.folder / f"{AUTOSAVE_PREFIX}{session_id}{PROJECT_SUFFIX}"
        saved_at = info.get("saved_at")
        if autosave.exists() and not isinstance(saved_at, (int, float)):
            saved_at = autosave.stat().st_mtime
        return CrashedSession(
            session_id=session_id,
            marker=marker,
            autosave=autosave if autosave.exists() else None,
            title=str(info.get("title") or "Untitled"),
            path=info.get("path") if isinstance(info.get("path"), str) else None,
            project_path=info.get("project_path") if isinstance(info.get("project_path"), str) else None,
            saved_at=float(saved_at) if isinstance(saved_at, (int, float)) else None,
        )

    @staticmethod
    def _still_running(info: dict[str, Any], session_id: str) -> bool:
        pid = info.get("pid")
        if not isinstance(pid, int):
            return False
        if info.get("host") and info.get("host") != socket.gethostname():
            return True  # another machine sharing this home folder: we cannot tell, so never take its files
        boot = _boot_id()
        if boot is not None and info.get("boot_id") not in (None, boot):
            return False  # the machine restarted since
        if pid == os.getpid():
            return session_id in _LIVE_SESSIONS
        if not _pid_alive(pid):
            return False
        started = info.get("process_start")
        current = _process_start(pid)
        return not (started is not None and current is not None and started != current)  # else a reused pid

    def discard(self, session: CrashedSession) -> None:
        """Delete what a crashed session left (after restoring it, or when the user declines)."""
        for path in (session.autosave, session.marker):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
