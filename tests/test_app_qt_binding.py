"""The pinned Qt binding must survive many calls: PySide6 6.12.0 on Python 3.11 lost a reference to None
on every void method call and aborted the process (Fatal Python error: none_dealloc) after ~100k of
them, i.e. after a few minutes of painting. Run in a subprocess because the failure is an abort."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel

class Emitter(QObject):
    fired = Signal(bool)

app = QApplication([])
label = QLabel("x")
emitter = Emitter()
emitter.fired.connect(lambda value: None)
image = QImage(8, 8, QImage.Format.Format_RGB32)
painter = QPainter(image)
before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(300_000):
    label.setText("y")
    painter.drawLine(0, 0, 4, 4)
    emitter.fired.emit(True)
painter.end()
after = sys.getrefcount(None), sys.getrefcount(True)
print(after[0] - before[0], after[1] - before[1])
"""


def test_void_calls_and_signals_do_not_leak_references_to_none_or_true():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    none_delta, true_delta = (int(x) for x in proc.stdout.split())
    assert abs(none_delta) < 1000 and abs(true_delta) < 1000, proc.stdout
