"""Snap to grid: the note grid a drawn or moved note lands on (bar, beat, 1/8, 1/16, triplets, off).

Pure functions on ``BeatGrid`` positions (32nds of a beat, fractional allowed), so a triplet is simply a
step of 8/3 positions and a song with tempo changes or a tapped beat map snaps to its own beats, not to a
fixed tick size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.analysis.grid import POSITIONS_PER_BEAT, BeatGrid


@dataclass(frozen=True)
class Snap:
    label: str
    positions: float | None  # step in 32nd positions; None = off; 0 = whole bars

    @property
    def is_bar(self) -> bool:
        return self.positions == 0


SNAPS: tuple[Snap, ...] = (
    Snap("Bar", 0),
    Snap("Beat", POSITIONS_PER_BEAT),
    Snap("1/8", POSITIONS_PER_BEAT / 2),
    Snap("1/16", POSITIONS_PER_BEAT / 4),
    Snap("1/8 triplet", POSITIONS_PER_BEAT / 3),
    Snap("1/16 triplet", POSITIONS_PER_BEAT / 6),
    Snap("Off", None),
)
DEFAULT_SNAP = SNAPS[3]  # 1/16, what the roll always used


def snap_by_label(label: str) -> Snap:
    for s in SNAPS:
        if s.label == label:
            return s
    return DEFAULT_SNAP


def _bar_index(grid: BeatGrid, pos: float) -> int:
    return int(np.searchsorted(grid.bar_starts, pos, side="right") - 1)


def snap_tick(grid: BeatGrid, tick: float, snap: Snap, mode: str = "nearest") -> int:
    """``tick`` moved onto the snap grid; ``mode`` is "nearest" (moving) or "floor" (where a click draws).

    Bars past the grid's end repeat its last bar; with snap off the tick is only rounded.
    """
    if snap.positions is None:
        return max(int(round(tick)), 0)
    pos = float(grid.tick_to_position(max(tick, 0.0)))
    rnd = math.floor if mode == "floor" else round
    if snap.is_bar:
        starts = grid.bar_starts
        end = float(starts[-1])
        if pos >= end and grid.n_bars:
            length = float(starts[-1] - starts[-2])
            return int(grid.position_to_tick(end + rnd((pos - end) / length) * length))
        i = max(_bar_index(grid, pos), 0)
        lo, hi = float(starts[i]), float(starts[min(i + 1, len(starts) - 1)])
        target = lo if mode == "floor" or hi == lo or pos - lo < hi - pos else hi
        return int(grid.position_to_tick(target))
    return int(grid.position_to_tick(rnd(pos / snap.positions) * snap.positions))


def snap_delta(grid: BeatGrid, origin_tick: float, tick: float, snap: Snap) -> int:
    """A drag's time offset: where the origin lands when moved to ``tick``, snapped, minus the origin."""
    if snap.positions is None:
        return int(round(tick - origin_tick))
    target = snap_tick(grid, float(tick), snap)
    start = snap_tick(grid, float(origin_tick), snap)
    return target - start


def step_ticks(grid: BeatGrid, tick: float, snap: Snap, ticks_per_beat: int) -> int:
    """Length of one snap step at ``tick`` (a drawn note's default length); a 16th when snap is off."""
    if snap.positions is None:
        return max(ticks_per_beat // 4, 1)
    start = snap_tick(grid, tick, snap, "floor")
    pos = float(grid.tick_to_position(start))
    if snap.is_bar:
        i = _bar_index(grid, pos)
        length = float(grid.bar_length(min(max(i, 0), grid.n_bars - 1))) if grid.n_bars else 4 * POSITIONS_PER_BEAT
        return max(int(grid.position_to_tick(pos + length)) - start, 1)
    return max(int(grid.position_to_tick(pos + snap.positions)) - start, 1)
