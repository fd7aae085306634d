"""Track headers beside the piano roll: name, category, instrument, mute/solo, colour; click to select.

Each header row sits level with its lane (the panel follows the canvas's lane height and vertical scroll),
so "click the header" selects exactly the lane beside it. Edits are reported as signals; the window wraps
them into undo commands.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QMouseEvent, QRegion
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.document import Document
from app.gm import program_label
from app.piano_roll import HEADER_H, PianoRollCanvas
from engine.analysis.categories import CATEGORIES, track_category

PANEL_WIDTH = 248


def category_label(category: str) -> str:
    return category.replace("_", " ").title()


class TrackHeader(QFrame):
    clicked = Signal(int, object)  # (index, Qt.KeyboardModifiers)
    renamed = Signal(int, str)
    categoryChosen = Signal(int, str)
    programChosen = Signal(int, int)
    muteToggled = Signal(int, bool)
    soloToggled = Signal(int, bool)
    removeRequested = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self.swatch = QLabel(self)
        self.swatch.setFixedWidth(6)
        self.name = QLineEdit(self)
        self.name.setFrame(False)
        self.name.setToolTip("Track name (click the header background to select the whole track)")
        self.category = QComboBox(self)
        self.category.addItems([category_label(c) for c in CATEGORIES])
        self.category.setToolTip("Instrument category the model sees for this track")
        self.program = QComboBox(self)
        self.program.addItems([program_label(p) for p in range(128)])
        self.program.setToolTip("General MIDI program used for playback and export")
        self.mute = QToolButton(self)
        self.mute.setText("M")
        self.mute.setCheckable(True)
        self.mute.setToolTip("Mute this track")
        self.solo = QToolButton(self)
        self.solo.setText("S")
        self.solo.setCheckable(True)
        self.solo.setToolTip("Solo this track")
        self.remove = QToolButton(self)
        self.remove.setText("✕")
        self.remove.setToolTip("Remove this track (undoable)")
        self.info = QLabel(self)
        self.info.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 8pt;")
        for w in (self.name, self.category, self.program):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for b in (self.mute, self.solo, self.remove):
            b.setFixedSize(22, 20)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(2)
        top.addWidget(self.name, 1)
        top.addWidget(self.mute)
        top.addWidget(self.solo)
        top.addWidget(self.remove)
        body = QVBoxLayout()
        body.setContentsMargins(4, 3, 4, 3)
        body.setSpacing(2)
        body.addLayout(top)
        body.addWidget(self.category)
        body.addWidget(self.program)
        body.addWidget(self.info)
        body.addStretch(1)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.swatch)
        outer.addLayout(body, 1)

        self.name.editingFinished.connect(lambda: self.renamed.emit(self.index, self.name.text()))
        self.category.activated.connect(lambda i: self.categoryChosen.emit(self.index, CATEGORIES[i]))
        self.program.activated.connect(lambda i: self.programChosen.emit(self.index, i))
        self.mute.toggled.connect(lambda on: self.muteToggled.emit(self.index, on))
        self.solo.toggled.connect(lambda on: self.soloToggled.emit(self.index, on))
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self.index))
        self.info.installEventFilter(self)
        self.swatch.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            self.clicked.emit(self.index, event.modifiers())
            return True
        return super().eventFilter(watched, event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.clicked.emit(self.index, event.modifiers())

    def set_values(self, doc: Document, editable: bool, selected: bool) -> None:
        tracks = doc.displayed_score().tracks
        track = tracks[self.index]
        cat = track_category(track)
        widgets = (self.name, self.category, self.program, self.mute, self.solo)
        for w in widgets:
            w.blockSignals(True)
        try:
            if not self.name.hasFocus():
                self.name.setText(track.name or f"Track {self.index + 1}")
            self.category.setCurrentIndex(CATEGORIES.index(cat))
            self.program.setCurrentIndex(min(max(track.program, 0), 127))
            self.program.setItemText(self.program.currentIndex(), program_label(track.program, track.is_drum))
            self.mute.setChecked(self.index in doc.muted)
            self.solo.setChecked(self.index in doc.soloed)
        finally:
            for w in widgets:
                w.blockSignals(False)
        for w in (self.name, self.category, self.program, self.remove):
            w.setEnabled(editable)
        tag = " · generated" if track.generated else ""
        self.info.setText(f"{len(track.notes):,} notes{tag}")
        color = theme.track_color(self.index)
        self.swatch.setStyleSheet(f"background: {color.name()};")
        bg = "#33404f" if selected else ("#2a2e35" if self.index % 2 == 0 else "#272b31")
        self.setStyleSheet(f"TrackHeader {{ background: {bg}; border-bottom: 1px solid {theme.LANE_LINE.name()}; }}")


class TrackListPanel(QWidget):
    """The header column. Rows are placed by hand to match the canvas lanes pixel for pixel."""

    trackClicked = Signal(int, object)
    renamed = Signal(int, str)
    categoryChosen = Signal(int, str)
    programChosen = Signal(int, int)
    removeRequested = Signal(int)
    addRequested = Signal(str)

    def __init__(self, document: Document, canvas: PianoRollCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc, self.canvas = document, canvas
        self.rows: list[TrackHeader] = []
        self.setFixedWidth(PANEL_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.title = QLabel("  Tracks", self)
        self.title.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-weight: bold;")
        self.add_button = QToolButton(self)
        self.add_button.setText("+ Track")
        self.add_button.setToolTip("Add an empty track of a chosen category (undoable)")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for cat in CATEGORIES:
            menu.addAction(category_label(cat), lambda c=cat: self.addRequested.emit(c))
        self.add_button.setMenu(menu)
        self.setAutoFillBackground(True)
        canvas.viewChanged.connect(self.relayout)

    def rebuild(self) -> None:
        """Create or drop rows to match the displayed tracks, then refresh their values."""
        n = len(self.doc.displayed_score().tracks)
        while len(self.rows) > n:
            self.rows.pop().deleteLater()
        while len(self.rows) < n:
            row = TrackHeader(len(self.rows), self)
            row.clicked.connect(self.trackClicked)
            row.renamed.connect(self.renamed)
            row.categoryChosen.connect(self.categoryChosen)
            row.programChosen.connect(self.programChosen)
            row.muteToggled.connect(self.doc.set_muted)
            row.soloToggled.connect(self.doc.set_soloed)
            row.removeRequested.connect(self.removeRequested)
            row.show()
            self.rows.append(row)
        self.refresh()

    def refresh(self) -> None:
        editable = self.doc.preview_index is None
        sel = self.doc.selection
        n_song = len(self.doc.score.tracks)
        for row in self.rows:
            selected = sel is not None and row.index < n_song and (sel.tracks is None or row.index in sel.tracks)
            row.set_values(self.doc, editable and row.index < n_song, selected)
        self.relayout()

    def relayout(self) -> None:
        c = self.canvas
        self.title.setGeometry(0, 0, PANEL_WIDTH - 80, HEADER_H)
        self.add_button.setGeometry(PANEL_WIDTH - 76, 8, 72, HEADER_H - 14)
        for row in self.rows:
            top = c.lane_top(row.index)
            visible = top + c.lane_height > HEADER_H and top < self.height()
            row.setVisible(visible)
            if visible:
                row.setGeometry(0, top, PANEL_WIDTH, c.lane_height)
                # Lanes scrolled under the ruler are clipped by a mask so they never cover the title.
                clip = max(0, HEADER_H - top)
                if clip:
                    row.setMask(QRegion(row.rect().adjusted(0, clip, 0, 0)))
                else:
                    row.clearMask()
                compact = c.lane_height < 92
                row.program.setVisible(not compact)
                row.info.setVisible(c.lane_height >= 112)
                row.category.setVisible(c.lane_height >= 56)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        self.relayout()
