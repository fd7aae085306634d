"""Preferences through QSettings: recent files, window geometry, last prompt values.

The window receives an ``AppSettings`` instead of creating QSettings itself, so tests pass one backed by
an INI file in a temporary folder and never touch the user's real preferences.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from app.document import PromptSettings
from app.recovery import DEFAULT_AUTOSAVE_SECONDS

ORGANISATION = "PopDiffuseq"
APPLICATION = "Studio"
MAX_RECENT = 10


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None, data_folder: str | Path | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANISATION, APPLICATION)
        self._data_folder = None if data_folder is None else Path(data_folder)

    @classmethod
    def in_file(cls, path: str | Path) -> AppSettings:
        """Settings stored in one INI file (tests, portable installs); autosaves and logs go beside it."""
        path = Path(path)
        return cls(QSettings(str(path), QSettings.Format.IniFormat), data_folder=path.resolve().parent)

    # ---- where autosaves and the crash log live
    def data_folder(self) -> Path:
        """The app's data folder: QStandardPaths' AppDataLocation for PopDiffuseq/Studio
        (``~/.local/share/PopDiffuseq/Studio`` on Linux), or the folder given for an INI-file setup.

        Built from the generic data location plus our names, so it is the same folder whether or not
        the QApplication's organisation and application names were set yet.
        """
        if self._data_folder is not None:
            return self._data_folder
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        return (Path(base) if base else Path.home() / ".local" / "share") / ORGANISATION / APPLICATION

    def autosave_seconds(self) -> float:
        """How often a changed song is autosaved for crash recovery (0 = only before Regenerate)."""
        try:
            value = float(self.q.value("recovery/autosaveSeconds", DEFAULT_AUTOSAVE_SECONDS))
        except (TypeError, ValueError):
            return DEFAULT_AUTOSAVE_SECONDS
        return max(value, 0.0)

    def set_autosave_seconds(self, seconds: float) -> None:
        self.q.setValue("recovery/autosaveSeconds", float(seconds))

    # ---- recent files
    def recent_files(self) -> list[str]:
        value = self.q.value("recentFiles", [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-element list in INI files
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent_file(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        self.q.setValue("recentFiles", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent_files(self) -> None:
        self.q.setValue("recentFiles", [])

    # ---- window
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    # ---- prompt values: only the preferences (PromptSettings.preferences), never one song's prompts
    def prompts(self) -> PromptSettings:
        raw = self.q.value("prompts/last", "")
        try:
            return (PromptSettings.from_dict(json.loads(raw)) if raw else PromptSettings()).preferences()
        except (TypeError, ValueError, AttributeError):
            return PromptSettings()

    def save_prompts(self, prompts: PromptSettings) -> None:
        self.q.setValue("prompts/last", json.dumps(prompts.preferences().to_dict()))

    def last_folder(self) -> str:
        return str(self.q.value("lastFolder", "") or "")

    def set_last_folder(self, folder: str | Path) -> None:
        self.q.setValue("lastFolder", str(folder))

    def chord_resolution(self) -> str:
        """Cells of the chord lane ("beat", "half_bar" or "bar"; anything else reads as "bar")."""
        value = str(self.q.value("chords/resolution", "bar") or "bar")
        return value if value in ("beat", "half_bar", "bar") else "bar"

    def set_chord_resolution(self, resolution: str) -> None:
        self.q.setValue("chords/resolution", resolution)

    def device(self) -> str:
        """Where the model runs: auto, cpu, cuda or mps (engine.device)."""
        value = str(self.q.value("engine/device", "auto") or "auto")
        return value if value in ("auto", "cpu", "cuda", "mps") else "auto"

    def set_device(self, device: str) -> None:
        self.q.setValue("engine/device", device)

    def sync(self) -> None:
        self.q.sync()
