"""The window's actions, menus and toolbar, built in one place so the window class stays about wiring.

Each action calls one controller verb; shortcuts follow Qt's standard keys where there is one, and no two
actions share a key (an ambiguous shortcut does nothing at all in Qt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QWidget

from app.snap import SNAPS
from app.track_list import category_label
from engine.analysis.categories import CATEGORIES

if TYPE_CHECKING:
    from app.main_window import MainWindow


def action(w: MainWindow, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:  # noqa: ANN001
    """A window-wide action: its shortcut works whichever panel has focus."""
    act = QAction(text, w)
    if shortcut is not None:
        if isinstance(shortcut, list):
            act.setShortcuts(shortcut)
        else:
            act.setShortcut(shortcut)
    if tip:
        act.setToolTip(tip)
        act.setStatusTip(tip)
    act.triggered.connect(lambda _checked=False: slot())
    w.addAction(act)
    return act


def zoom(w: MainWindow, factor: float) -> None:
    """Keyboard zoom, held still around the mouse or the selection (``PianoRollCanvas.zoom_anchor_x``)."""
    c = w.canvas
    c.set_zoom(c.px_per_tick * factor, c.zoom_anchor_x())


def build_actions(w: MainWindow) -> None:
    """Every QAction of the window, each wired to the controller that owns the verb."""
    K = QKeySequence  # noqa: N806
    f, r, p, e = w.files, w.regen, w.playback, w.edits
    w.act_open = action(w, "&Open…", f.open_dialog, K(K.StandardKey.Open), "Open a MIDI file or project (Ctrl+O)")
    w.act_demo = action(w, "Open &Demo Song", w.load_demo, None, "Open the built-in demo song")
    w.act_save = action(w, "&Save Project", f.save_project, K(K.StandardKey.Save), "Save the song with locks and prompts as a project (Ctrl+S)")
    w.act_save_as = action(w, "Save Project &As…", f.save_project_as, K("Ctrl+Shift+S"))
    w.act_export = action(w, "&Export MIDI…", f.export_midi, K("Ctrl+E"), "Export the edited song as a MIDI file (Ctrl+E)")
    w.act_render = action(w, "&Render to WAV…", f.render_wav, K("Ctrl+Shift+E"), w.audio.render_reason)
    w.act_quit = action(w, "&Quit", w.close, K(K.StandardKey.Quit))
    w.act_undo = w.undo_stack.createUndoAction(w, "&Undo")
    w.act_undo.setShortcut(K(K.StandardKey.Undo))
    w.act_redo = w.undo_stack.createRedoAction(w, "&Redo")
    w.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
    w.addAction(w.act_undo)
    w.addAction(w.act_redo)
    # The toolbar gets fixed-width twins: the menu's "Undo Move 3 notes" would make the toolbar jump.
    w.tb_undo = QAction("Undo", w)
    w.tb_undo.triggered.connect(w.undo_stack.undo)
    w.tb_redo = QAction("Redo", w)
    w.tb_redo.triggered.connect(w.undo_stack.redo)
    w.undo_stack.canUndoChanged.connect(w.tb_undo.setEnabled)
    w.undo_stack.canRedoChanged.connect(w.tb_redo.setEnabled)
    w.undo_stack.undoTextChanged.connect(lambda t: w.tb_undo.setToolTip(f"Undo {t} (Ctrl+Z)" if t else "Nothing to undo"))
    w.undo_stack.redoTextChanged.connect(lambda t: w.tb_redo.setToolTip(f"Redo {t} (Ctrl+Shift+Z)" if t else "Nothing to redo"))
    w.tb_undo.setEnabled(False)
    w.tb_redo.setEnabled(False)
    w.act_delete = action(w, "&Delete Notes", e.delete_selection, [K(K.StandardKey.Delete), K("Backspace")], "Delete the picked notes, or every note in the region (Delete)")
    w.act_lock = action(w, "&Lock / Unlock Notes", e.toggle_lock, K("L"), "Keep the picked notes when regenerating (L)")
    w.act_select_all = action(w, "Select &Whole Song", e.select_all, K(K.StandardKey.SelectAll))
    w.act_escape = action(w, "Clear Selection / Cancel", e.escape, K("Esc"))
    w.act_play = action(w, "&Play / Stop", p.play_stop, K("Space"), w.audio.play_reason)
    w.act_regenerate = action(w, "&Regenerate", r.regenerate, K("R"), "Fill the selected region with new music (R)")
    w.act_cancel = action(w, "&Cancel Regeneration", r.cancel, None)
    w.act_accept = action(w, "&Accept Variation", r.accept_previewed, [K("Ctrl+Return"), K("Ctrl+Enter")])
    w.act_next_var = action(w, "Next Variation", lambda: r.step_preview(1), K("]"))
    w.act_prev_var = action(w, "Previous Variation", lambda: r.step_preview(-1), K("["))
    # Zoom keeps Qt's standard keys (Ctrl++ / Ctrl+=, Ctrl+-); lane height must not share them: on most
    # layouts Ctrl+Shift+= *is* Ctrl++, and an ambiguous shortcut does nothing at all.
    w.act_zoom_in = action(w, "Zoom &In", lambda: zoom(w, 1.25), K(K.StandardKey.ZoomIn), "Zoom in around the mouse or the selection (Ctrl++)")
    w.act_zoom_out = action(w, "Zoom &Out", lambda: zoom(w, 1 / 1.25), K(K.StandardKey.ZoomOut), "Zoom out (Ctrl+-)")
    w.act_fit = action(w, "Zoom to &Fit", w.canvas.zoom_to_fit, K("Ctrl+0"))
    w.act_taller = action(w, "Taller Lanes", lambda: w.canvas.set_lane_height(int(w.canvas.lane_height * 1.2)), K("Ctrl+Alt+Down"))
    w.act_shorter = action(w, "Shorter Lanes", lambda: w.canvas.set_lane_height(int(w.canvas.lane_height / 1.2)), K("Ctrl+Alt+Up"))
    w.act_tool_select = action(w, "&Select Tool", lambda: w.canvas.set_tool("select"), K("V"), "Select tool (V): drag to choose a region, click to pick notes")
    w.act_tool_pencil = action(w, "&Pencil Tool", lambda: w.canvas.set_tool("pencil"), K("B"), "Pencil tool (B): click to draw a note, drag a note to move it")
    w.tool_group = QActionGroup(w)
    for a in (w.act_tool_select, w.act_tool_pencil):
        a.setCheckable(True)
        w.tool_group.addAction(a)
    w.act_tool_select.setChecked(True)
    w.snap_group = QActionGroup(w)
    w.snap_actions: list[QAction] = []
    for snap in SNAPS:
        a = QAction(snap.label, w, checkable=True)
        a.triggered.connect(lambda _c=False, s=snap: w.canvas.set_snap(s))
        w.snap_group.addAction(a)
        w.snap_actions.append(a)
        a.setChecked(snap == w.canvas.snap)
    w.act_meter = action(w, "Time Signature and First &Downbeat…", w.edits.set_meter_dialog, None, "Put the bar grid right when the file's declared meter is wrong")
    w.act_tempo = action(w, "Set &Tempo…", w.edits.set_tempo_dialog, None, "Set one tempo for the whole song")
    w.act_add_bars = action(w, "Add &Bars…", w.edits.add_bars_dialog, None, "Add empty bars at the end of the song (for an outro or a continuation)")
    w.act_file_warnings = action(w, "File &Warnings…", w.show_file_warnings, None, "What reading or writing the song's file could not keep")
    c = w.chords
    w.act_type_chord = action(w, "&Type Chord…", lambda: c.open_editor(""), None, "Type a chord over the picked chord cells (or just start typing: C, F#m7, N.C.)")
    w.act_copy_chords = action(w, "&Copy Chords", c.copy, K(K.StandardKey.Copy), "Copy the chords of the picked chord cells (Ctrl+C)")
    w.act_paste_chords = action(w, "&Paste Chords", c.paste, K(K.StandardKey.Paste), "Paste copied chords from the start of the picked cells (Ctrl+V)")
    w.act_delete_chords = action(w, "&Delete Chords (N.C.)", c.delete, None, "No chord over the picked cells (Delete, with chord cells picked)")
    w.act_detect_chords = action(w, "D&etect Chords", c.detect, None, "Refill the picked chord cells (or the region's bars) with chords detected from the notes")
    w.act_shortcuts = action(w, "&Keyboard Shortcuts", w.show_shortcuts, K(K.StandardKey.HelpContents), "Every keyboard shortcut (F1)")


def build_menus_and_toolbar(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(w.act_open)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.recent_menu.aboutToShow.connect(w.files.fill_recent_menu)
    file_menu.addAction(w.act_demo)
    file_menu.addSeparator()
    for a in (w.act_save, w.act_save_as, w.act_export, w.act_render):
        file_menu.addAction(a)
    file_menu.addSeparator()
    file_menu.addAction(w.act_quit)
    edit = bar.addMenu("&Edit")
    for a in (w.act_undo, w.act_redo):
        edit.addAction(a)
    edit.addSeparator()
    for a in (w.act_tool_select, w.act_tool_pencil):
        edit.addAction(a)
    snap_menu = edit.addMenu("S&nap to Grid")
    for a in w.snap_actions:
        snap_menu.addAction(a)
    edit.addSeparator()
    for a in (w.act_delete, w.act_lock, w.act_select_all, w.act_escape):
        edit.addAction(a)
    song_menu = bar.addMenu("&Song")
    song_menu.addAction(w.act_meter)
    song_menu.addAction(w.act_tempo)
    song_menu.addAction(w.act_add_bars)
    song_menu.addSeparator()
    chords_menu = song_menu.addMenu("&Chords")
    for a in (w.act_type_chord, w.act_copy_chords, w.act_paste_chords, w.act_delete_chords, w.act_detect_chords):
        chords_menu.addAction(a)
    resolution = chords_menu.addMenu("Chord &Resolution")
    for a in w.chords.resolution_actions.values():
        resolution.addAction(a)
    song_menu.addSeparator()
    song_menu.addAction(w.act_file_warnings)
    track_menu = bar.addMenu("&Tracks")
    add_menu = track_menu.addMenu("&Add Track")
    for cat in CATEGORIES:
        add_menu.addAction(category_label(cat), lambda c=cat: w.edits.add_track(c))
    view = bar.addMenu("&View")
    for a in (w.act_zoom_in, w.act_zoom_out, w.act_fit, w.act_taller, w.act_shorter):
        view.addAction(a)
    view.addAction(w.side_dock.toggleViewAction())
    gen = bar.addMenu("&Generate")
    for a in (w.act_regenerate, w.act_cancel, w.act_accept, w.act_next_var, w.act_prev_var):
        gen.addAction(a)
    device_menu = gen.addMenu("&Device")
    group = QActionGroup(device_menu)
    w.device_actions = {}
    for key, label in (("auto", "&Auto (GPU when there is one)"), ("cpu", "&CPU"), ("cuda", "CUDA &GPU"), ("mps", "Apple &MPS")):
        act = device_menu.addAction(label, lambda k=key, win=w: win.regen.set_device(k))
        act.setCheckable(True)
        act.setChecked(key == w.settings.device())
        group.addAction(act)
        w.device_actions[key] = act
    play = bar.addMenu("&Play")
    play.addAction(w.act_play)
    play.addAction(w.act_render)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.act_shortcuts)

    tb = w.addToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    w.toolbar = tb
    for a in (w.act_open, w.act_save, w.act_export):
        tb.addAction(a)
    tb.addSeparator()
    tb.addAction(w.tb_undo)
    tb.addAction(w.tb_redo)
    tb.addSeparator()
    tb.addAction(w.act_tool_select)
    tb.addAction(w.act_tool_pencil)
    w.snap_box = w.roll.snap_box_for(tb)
    tb.addWidget(QLabel(" Snap "))
    tb.addWidget(w.snap_box)
    tb.addSeparator()
    tb.addAction(w.act_play)
    tb.addSeparator()
    tb.addAction(w.act_zoom_out)
    tb.addAction(w.act_zoom_in)
    tb.addAction(w.act_fit)
    tb.addSeparator()
    tb.addAction(w.act_lock)
    tb.addAction(w.act_regenerate)
    for w in tb.findChildren(QWidget):
        w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # so Space reaches the Play shortcut
