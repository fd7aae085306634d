"""The Regenerate panel: what to regenerate in the selected region and how (instruments, tempo, guidance...).

It edits a ``PromptSettings`` value and reports it whole (``promptsChanged``); the document stores it and
the settings remember it. Progress and Cancel live here too, next to the button that started the work.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import ATTRIBUTES, PromptSettings
from app.track_list import category_label
from engine.analysis.categories import CATEGORIES
from engine.analysis.tempo import TEMPO_CLASSES
from engine.guidance import GUIDANCE_HELP
from engine.novelty import NOVELTY_HELP
from engine.scale import MELODY_SCALE_HELP

ATTRIBUTE_LABELS = {
    "all": "Everything (pitch + rhythm)",
    "pitch": "Pitches only (keep rhythm)",
    "rhythm": "Rhythm only (keep pitches)",
}


def progress_text(done: int, total: int, steps: int | None) -> str:
    """What the progress bar says. The engine counts steps over every part of a long region together
    (``total`` = parts × steps), so "Step 12/20" under "Steps 10" becomes "Part 2 of 2 · step 2 of 10"."""
    if steps and total > steps and total % steps == 0 and done >= 1:
        parts = total // steps
        part, step = divmod(done - 1, steps)
        return f"Part {part + 1} of {parts} · step {step + 1} of {steps}"
    return f"Step {done} of {total}"


class PromptPanel(QWidget):
    promptsChanged = Signal(object)  # PromptSettings
    regenerateRequested = Signal()
    cancelRequested = Signal()
    chordsToggled = Signal(bool)  # the region includes the chord lane (the model rewrites its chords)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prompts = PromptSettings()
        self._song_tempo = "moderato"
        self._steps: int | None = None  # the running request's steps, to read the engine's progress

        self.region = QLabel("No region selected — drag over the piano roll, or click track headers.")
        self.region.setWordWrap(True)
        self.attributes = QComboBox()
        self.attributes.addItems([ATTRIBUTE_LABELS[a] for a in ATTRIBUTES])
        self.attributes.setToolTip("What the model may change inside the region; locked notes are always kept")

        self.chords = QCheckBox("Chords too")
        self.chords.setToolTip(
            "Let the model rewrite the region's chords with the notes (reharmonise); also set by dragging the\n"
            "region up into the chord lane. Needs a model trained to write chords.")
        self.chords.setEnabled(False)

        self.add_category = QComboBox()
        self.add_category.addItems([category_label(c) for c in CATEGORIES])
        self.add_category.setCurrentIndex(CATEGORIES.index("STRINGS"))
        self.add_button = QToolButton()
        self.add_button.setText("Add")
        self.add_button.setToolTip("Ask for a new track of this instrument inside the region (e.g. strings here)")
        self.new_tracks = QListWidget()
        self.new_tracks.setMaximumHeight(64)
        self.new_tracks.setToolTip("New instruments the model will write into the region (double-click to remove)")
        self.clear_new = QToolButton()
        self.clear_new.setText("Clear")

        self.tempo = QComboBox()
        self.tempo.setToolTip("The tempo feel asked of the region. Another class than the song's: regenerated parts play as "
                              "many notes per beat as parts of that class do in the training data (slow songs subdivide "
                              "more, so presto parts are sparser per beat than largo ones), relative to their own")
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 10.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setToolTip(GUIDANCE_HELP)
        self.variations = QSpinBox()
        self.variations.setRange(1, 8)
        self.variations.setToolTip("How many alternatives to generate per press")
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setToolTip("Sampler steps: more is slower and usually cleaner")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 3.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setToolTip("Lower = safer, higher = more adventurous")
        self.register = QComboBox()
        for key, label in (("strict", "Strict (the part's own range)"), ("loose", "Loose (or the instrument's)"), ("off", "Off")):
            self.register.addItem(label, key)
        self.register.setToolTip("Pitch range of regenerated parts: strict keeps each part within its own range around the "
                                 "region (+-2 semitones; new parts: the instrument's usual range). Strict and loose "
                                 "also move a note that leaps over an octave and straight back by octaves, in a part "
                                 "that never does so around the region")
        self.one_line = QComboBox()
        for key, label in (("auto", "Auto (parts that are one line)"), ("on", "Always"), ("off", "Never")):
            self.one_line.addItem(label, key)
        self.one_line.setToolTip("One note at a time: a vocal or bass line stays a line")
        self.melody_scale = QCheckBox("Melody keeps its scale")
        self.melody_scale.setToolTip(MELODY_SCALE_HELP)
        self.novelty = QDoubleSpinBox()
        self.novelty.setRange(0.0, 1.0)
        self.novelty.setSingleStep(0.1)
        self.novelty.setToolTip(NOVELTY_HELP)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed; it advances after every press, so results never repeat")

        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setToolTip("Fill the selected region with new music (R)")
        self.regenerate.setMinimumHeight(34)
        self.regenerate.setStyleSheet("QPushButton { background: #3d6fd6; color: white; font-weight: bold; } QPushButton:disabled { background: #3a3f48; color: #888; }")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Idle")

        add_row = QHBoxLayout()
        add_row.addWidget(self.add_category, 1)
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.clear_new)
        what = QGroupBox("Region")
        form = QFormLayout(what)
        form.addRow(self.region)
        form.addRow("Regenerate", self.attributes)
        form.addRow("", self.chords)
        form.addRow("Add instrument", add_row)
        form.addRow("", self.new_tracks)
        how = QGroupBox("Prompt")
        form2 = QFormLayout(how)
        form2.addRow("Tempo class", self.tempo)
        form2.addRow("Guidance", self.guidance)
        form2.addRow("Variations", self.variations)
        form2.addRow("Steps", self.steps)
        form2.addRow("Temperature", self.temperature)
        form2.addRow("Novelty", self.novelty)
        form2.addRow("Seed", self.seed)
        form2.addRow("Register", self.register)
        form2.addRow("One line", self.one_line)
        form2.addRow("", self.melody_scale)
        buttons = QHBoxLayout()
        buttons.addWidget(self.regenerate, 2)
        buttons.addWidget(self.cancel, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(what)
        layout.addWidget(how)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)

        self._fill_tempo()
        self.set_prompts(self._prompts)
        for w in (self.attributes, self.tempo, self.register, self.one_line):
            w.currentIndexChanged.connect(self._emit)
        for w in (self.guidance, self.variations, self.steps, self.temperature, self.novelty, self.seed):
            w.valueChanged.connect(self._emit)
        self.add_button.clicked.connect(self._add_new_track)
        self.clear_new.clicked.connect(self._clear_new_tracks)
        self.new_tracks.itemDoubleClicked.connect(self._remove_new_track)
        self.regenerate.clicked.connect(self.regenerateRequested)
        self.chords.toggled.connect(self.chordsToggled)
        self.melody_scale.toggled.connect(self._emit)
        self.cancel.clicked.connect(self.cancelRequested)

    def _fill_tempo(self) -> None:
        self.tempo.blockSignals(True)
        self.tempo.clear()
        self.tempo.addItem(f"Song's own ({self._song_tempo})", None)
        for name in TEMPO_CLASSES:
            self.tempo.addItem(name.capitalize(), name)
        self.tempo.blockSignals(False)

    def set_song_tempo_class(self, name: str) -> None:
        self._song_tempo = name
        self.tempo.setItemText(0, f"Song's own ({name})")

    def prompts(self) -> PromptSettings:
        return self._prompts

    def set_prompts(self, prompts: PromptSettings) -> None:
        """Show ``prompts`` without echoing a change back."""
        self._prompts = prompts
        widgets = (self.attributes, self.tempo, self.guidance, self.variations, self.steps, self.temperature, self.seed,
                   self.register, self.one_line, self.novelty, self.melody_scale)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.attributes.setCurrentIndex(ATTRIBUTES.index(prompts.attributes))
            self.tempo.setCurrentIndex(0 if prompts.tempo_class is None else 1 + TEMPO_CLASSES.index(prompts.tempo_class))
            self.guidance.setValue(prompts.guidance)
            self.variations.setValue(prompts.n_variations)
            self.steps.setValue(prompts.steps)
            self.temperature.setValue(prompts.temperature)
            self.novelty.setValue(prompts.novelty)
            self.seed.setValue(prompts.seed)
            self.register.setCurrentIndex(max(0, self.register.findData(prompts.register)))
            self.one_line.setCurrentIndex(max(0, self.one_line.findData(prompts.one_line)))
            self.melody_scale.setChecked(prompts.melody_scale)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.new_tracks.clear()
        for cat in prompts.new_tracks:
            item = QListWidgetItem(f"+ {category_label(cat)}")
            item.setData(Qt.ItemDataRole.UserRole, cat)
            self.new_tracks.addItem(item)

    def _emit(self) -> None:
        self._prompts = PromptSettings(
            attributes=ATTRIBUTES[self.attributes.currentIndex()],
            new_tracks=self._prompts.new_tracks,
            tempo_class=self.tempo.currentData(),
            guidance=self.guidance.value(),
            n_variations=self.variations.value(),
            steps=self.steps.value(),
            temperature=self.temperature.value(),
            seed=self.seed.value(),
            register=self.register.currentData(),
            one_line=self.one_line.currentData(),
            novelty=self.novelty.value(),
            melody_scale=self.melody_scale.isChecked(),
        )
        self.promptsChanged.emit(self._prompts)

    def _set_new_tracks(self, cats: tuple[str, ...]) -> None:
        self.set_prompts(replace(self._prompts, new_tracks=cats))
        self.promptsChanged.emit(self._prompts)

    def _add_new_track(self) -> None:
        cat = CATEGORIES[self.add_category.currentIndex()]
        if cat not in self._prompts.new_tracks:
            self._set_new_tracks((*self._prompts.new_tracks, cat))

    def _remove_new_track(self, item: QListWidgetItem) -> None:
        cat = item.data(Qt.ItemDataRole.UserRole)
        self._set_new_tracks(tuple(c for c in self._prompts.new_tracks if c != cat))

    def _clear_new_tracks(self) -> None:
        self._set_new_tracks(())

    # ---- state shown while working
    def set_region_text(self, text: str) -> None:
        self.region.setText(text)

    def set_region_chords(self, has_region: bool, chords: bool) -> None:
        """Show whether the region includes the chord lane, without echoing a change back."""
        self.chords.blockSignals(True)
        self.chords.setChecked(chords)
        self.chords.setEnabled(has_region)
        self.chords.blockSignals(False)

    def set_busy(self, busy: bool, steps: int | None = None) -> None:
        self._steps = steps
        self.regenerate.setEnabled(not busy)
        self.cancel.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)  # indeterminate until the first progress report
            self.progress.setFormat("Starting…")

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(progress_text(done, total, self._steps))

    def set_idle(self, text: str) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat(text)
