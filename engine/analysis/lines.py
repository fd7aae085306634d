"""One voice at a time: which notes of a part overlap, and which parts play a line.

Shared by the evaluation's line check (``evaluate.musician``) and the sampler, which keeps a part that is
a line around the region one line inside it (``infill``), so both use one definition. Units are the
caller's (32nds or ticks): only onsets and ends are compared.
"""

from __future__ import annotations

import numpy as np

LINE_TOLERANCE = 0.05  # a part "plays one note at a time" when at most this share of its context notes overlap
MIN_LINE_NOTES = 4  # ... and it has at least this many context notes


def overlapping(onset: np.ndarray, duration: np.ndarray, track: np.ndarray) -> np.ndarray:
    """bool per note: it sounds together with another note of its track (starts before that one ends and
    ends after it starts; two notes on one onset overlap)."""
    onset, duration, track = (np.asarray(a, dtype=np.int64) for a in (onset, duration, track))
    out = np.zeros(len(onset), dtype=bool)
    for t in np.unique(track).tolist():
        idx = np.flatnonzero(track == t)
        idx = idx[np.lexsort((onset[idx] + duration[idx], onset[idx]))]
        s, e = onset[idx], onset[idx] + duration[idx]
        ends_before = np.maximum.accumulate(e)
        with_earlier = np.r_[False, ends_before[:-1] > s[1:]]
        with_later = np.r_[s[1:] < e[:-1], False]
        out[idx] = with_earlier | with_later
    return out


def line_tracks(ctx_onset: np.ndarray, ctx_duration: np.ndarray, ctx_track: np.ndarray) -> set[int]:
    """Tracks that play one note at a time in the context: at least MIN_LINE_NOTES notes there, at most
    LINE_TOLERANCE of them overlapping."""
    ctx_track = np.asarray(ctx_track, dtype=np.int64)
    over = overlapping(ctx_onset, ctx_duration, ctx_track)
    return {t for t in np.unique(ctx_track).tolist()
            if (ctx_track == t).sum() >= MIN_LINE_NOTES and over[ctx_track == t].mean() <= LINE_TOLERANCE}
