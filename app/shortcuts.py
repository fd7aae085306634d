"""Help ▸ Keyboard Shortcuts: a table made from the window's own actions, so it always tells the truth."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MOUSE = (
    ("Drag over the roll (Select tool)", "choose a region: bars × tracks"),
    ("Click a note / Ctrl+click", "pick a note / add or remove it from the picks"),
    ("Click (Pencil tool), double-click", "draw a note on the snap grid"),
    ("Drag a note (Pencil tool)", "move the picked notes"),
    ("Drag in the velocity lane", "set velocities (only the picked notes, if any)"),
    ("Ctrl+wheel / Ctrl+Shift+wheel", "zoom around the mouse / lane height"),
    ("Click a track header", "select the whole track (Ctrl/Shift: add)"),
)


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """(action name, its shortcuts in the platform's notation) for every action that has one."""
    rows = []
    for a in actions:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts())
        if keys:
            rows.append((a.text().replace("&", "").rstrip("…"), keys))
    return sorted(rows)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget, actions: list[QAction]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.rows = shortcut_rows(actions) + list(MOUSE)
        table = QTableWidget(len(self.rows), 2, self)
        table.setHorizontalHeaderLabels(["Action", "Keys / mouse"])
        for i, (name, keys) in enumerate(self.rows):
            table.setItem(i, 0, QTableWidgetItem(name))
            table.setItem(i, 1, QTableWidgetItem(keys))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(560, 520)
