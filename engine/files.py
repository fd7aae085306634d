"""Writing files so that a crash never leaves half of one behind: MIDI exports, WAV renders, projects."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _default_mode(path: Path) -> int:
    """The mode of the file being replaced, else what a plain open() would give (0666 less the umask).

    mkstemp creates files 0600; without this an exported song would be private to its owner."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    Either the old file or the complete new one exists at every moment. ``mode`` (e.g. 0o600 for
    private recovery files) overrides the permissions.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _default_mode(path) if mode is None else mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
