"""The desktop editor (Qt). Imports engine, never the reverse."""

from app import qt_refcount as _qt_refcount  # noqa: F401 - must run before any Qt call, see its docstring
