"""Unhandled exceptions: log them, tell the musician, keep the window alive.

PySide6 hands an exception that escapes a slot or an overridden Qt method (``paintEvent``…) to
``sys.excepthook`` and then carries on with the event loop. Python's default hook only prints to a
console nobody sees; ``CrashHandler`` instead appends the traceback to a log file in the app's data
folder, gives the user a short message through a *reporter*, and optionally runs a callback (the window
autosaves). Exceptions in Python threads arrive through ``threading.excepthook`` and are treated alike.

The reporter is any ``callable(title, message, details)``: tests pass a list's ``append``-like function;
the app passes ``QtReporter``, which shows a non-modal QMessageBox on the GUI thread (a message that
arrives from another thread is queued there) and never stacks more than one box.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

LOG_DIR = "logs"
LOG_NAME = "crash.log"
MAX_LOG_BYTES = 1_000_000  # then crash.log becomes crash.log.1 (one old copy is kept)

Reporter = Callable[[str, str, str], None]  # (title, message, traceback text)


def crash_log_path(data_folder: str | Path) -> Path:
    return Path(data_folder) / LOG_DIR / LOG_NAME


def append_to_log(log_path: Path, text: str) -> None:
    """Append one entry; rotates the log past ``MAX_LOG_BYTES``. Never raises (we are already failing)."""
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if log_path.stat().st_size > MAX_LOG_BYTES:
                os.replace(log_path, log_path.with_name(log_path.name + ".1"))
        except FileNotFoundError:
            pass
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
    except OSError as exc:
        print(f"cannot write the crash log {log_path}: {exc}", file=sys.stderr)


class CrashHandler:
    """Installs itself as ``sys.excepthook`` and ``threading.excepthook`` (``install`` / ``uninstall``)."""

    def __init__(self, log_path: str | Path, reporter: Reporter | None = None, on_error: Callable[[], object] | None = None) -> None:
        self.log_path = Path(log_path)
        self.reporter = reporter
        self.on_error = on_error
        self.count = 0  # exceptions handled so far (tests and the message use it)
        self._previous_sys: Callable[..., object] | None = None
        self._previous_threading: Callable[..., object] | None = None
        self._busy = threading.local()

    # ---- installation
    def install(self) -> CrashHandler:
        if self._previous_sys is None:
            self._previous_sys, sys.excepthook = sys.excepthook, self._sys_hook
            self._previous_threading, threading.excepthook = threading.excepthook, self._threading_hook
        return self

    def uninstall(self) -> None:
        if self._previous_sys is not None:
            if sys.excepthook == self._sys_hook:
                sys.excepthook = self._previous_sys
            if threading.excepthook == self._threading_hook and self._previous_threading is not None:
                threading.excepthook = self._previous_threading
            self._previous_sys = self._previous_threading = None

    def __enter__(self) -> CrashHandler:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # ---- the hooks
    def _sys_hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, (KeyboardInterrupt, SystemExit)) and self._previous_sys is not None:
            self._previous_sys(exc_type, exc, tb)  # Ctrl+C in a terminal still stops the program
            return
        self.handle(exc_type, exc, tb, threading.current_thread().name)

    def _threading_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "unknown thread"
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, name)

    def handle(self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None, thread: str = "MainThread") -> None:
        """Log, report, call back. Re-entry (the reporter itself failing) is logged only."""
        self.count += 1
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        append_to_log(self.log_path, f"=== {stamp}  pid {os.getpid()}  thread {thread} ===\n{details}\n")
        print(details, file=sys.stderr, end="")
        if getattr(self._busy, "active", False):
            return
        self._busy.active = True
        try:
            if self.on_error is not None:
                try:
                    self.on_error()
                except Exception:  # noqa: BLE001 - the callback must not hide the original error
                    append_to_log(self.log_path, f"(on_error failed)\n{traceback.format_exc()}\n")
            if self.reporter is not None:
                summary = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
                message = (
                    "Something went wrong inside the editor, but it is still running.\n\n"
                    f"{summary}\n\n"
                    f"Your work is autosaved. The details were written to {self.log_path}."
                )
                try:
                    self.reporter("Unexpected error", message, details)
                except Exception:  # noqa: BLE001
                    append_to_log(self.log_path, f"(the error report failed)\n{traceback.format_exc()}\n")
        finally:
            self._busy.active = False


class QtReporter(QObject):
    """Shows errors in a non-modal QMessageBox on the GUI thread; later errors update the open box.

    Create it on the GUI thread (after the QApplication). Calling it from another thread is safe: the
    signal is queued to the GUI thread, where the box is made.
    """

    _report = Signal(str, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.box: QMessageBox | None = None
        self.shown = 0
        self._report.connect(self._show, Qt.ConnectionType.AutoConnection)

    def __call__(self, title: str, message: str, details: str) -> None:
        self._report.emit(title, message, details)

    def _show(self, title: str, message: str, details: str) -> None:
        self.shown += 1
        if self.box is not None and self.box.isVisible():  # one box at a time, however many errors
            self.box.setText(f"{message}\n\n({self.shown} errors so far.)")
            self.box.setDetailedText(details)
            return
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, QApplication.activeWindow())
        box.setDetailedText(details)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._forget)
        self.box = box
        box.show()

    def _forget(self, _result: int = 0) -> None:
        self.box = None
