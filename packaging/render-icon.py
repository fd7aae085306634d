"""Render resources/icons/app.svg to a 256 px PNG (resources/icons/app.png) with Qt's SVG renderer.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render-icon.py [SIZE]

Needs no display. Desktop environments and PyInstaller's Linux bundle use the PNG where an SVG is not
accepted; the SVG stays the source of truth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app  # noqa: E402,F401 - the PySide6 6.12 refcount workaround must run before any Qt call


def render(svg: Path, png: Path, size: int = 256) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png), "PNG"):
        raise SystemExit(f"{png}: cannot be written")


if __name__ == "__main__":
    from PySide6.QtGui import QGuiApplication

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    _app = QGuiApplication([sys.argv[0]])
    out = ROOT / "resources" / "icons" / "app.png"
    render(ROOT / "resources" / "icons" / "app.svg", out, size)
    print(out)
