"""The Meter dialog: time signature plus where the first downbeat falls (counted in quarter-note beats)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)


class MeterDialog(QDialog):
    def __init__(self, parent: QWidget, ticks_per_beat: int) -> None:
        super().__init__(parent)
        self.setWindowTitle("Time Signature and First Downbeat")
        self.tpb = ticks_per_beat
        self.numerator = QSpinBox()
        self.numerator.setRange(1, 32)
        self.numerator.setValue(4)
        self.denominator = QComboBox()
        self.denominator.addItems(["2", "4", "8", "16"])
        self.denominator.setCurrentText("4")
        self.downbeat = QDoubleSpinBox()
        self.downbeat.setRange(1, 10_000)
        self.downbeat.setDecimals(2)
        self.downbeat.setSingleStep(1)
        self.downbeat.setValue(1)
        self.downbeat.setToolTip("Quarter-note beat (from 1 at the start of the file) where bar 1 begins; earlier beats are a pickup")
        note = QLabel("Only the bar grid changes; notes stay where they are.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Beats per bar", self.numerator)
        form.addRow("Beat unit", self.denominator)
        form.addRow("First downbeat at beat", self.downbeat)
        form.addRow(note)
        form.addRow(buttons)

    def values(self) -> tuple[int, int, int]:
        """(numerator, denominator, first downbeat in ticks)."""
        return self.numerator.value(), int(self.denominator.currentText()), int(round((self.downbeat.value() - 1) * self.tpb))
