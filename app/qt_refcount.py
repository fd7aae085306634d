"""Keep PySide6 6.12 from crashing CPython 3.11: give None, True and False reference-count headroom.

Measured on the project machine (PySide6 6.12.0, CPython 3.11.7): every call of a void C++ method through
PySide (``QPainter.drawLine``, ``QWidget.update``, ``setText`` ...) and ``QObject.property()`` of a missing
name takes one reference from ``None``, and every ``Signal.emit`` takes one from ``True`` — the bindings
return these singletons without a new reference, which is only safe where they are immortal (Python 3.12+,
PEP 683). After some thousands of calls (a few seconds of painting) the count reaches zero and the
interpreter aborts with "none_dealloc: deallocating None" / "bool_dealloc".

Adding 2**40 to their counts makes them effectively immortal, as on 3.12, so the leak is harmless; the
objects are never freed anyway. It is a no-op on 3.12+ and on other interpreters. Imported by
``app/__init__.py`` so it runs before any window exists.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 40


def protect_singletons() -> bool:
    """Apply the headroom once; returns True if it was needed (CPython < 3.12)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object
        if count.value < HEADROOM:
            count.value += HEADROOM
    return True


protect_singletons()
