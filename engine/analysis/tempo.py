"""Tempo classes: the coarse tempo prompt (largo/andante/moderato/allegro/presto), by the seed's BPM ranges."""

from __future__ import annotations

from engine.score import Score

TEMPO_CLASSES: tuple[str, ...] = ("largo", "andante", "moderato", "allegro", "presto")
# Upper bounds (inclusive, on the integer BPM) as in the seed: <=65, 66-108, 109-126, 127-168, >=169.
_UPPER_BPM: tuple[int, ...] = (65, 108, 126, 168)
# A representative BPM per class, used when a generated song needs a tempo (inside each range, unlike the seed's 144 presto).
CLASS_BPM: dict[str, float] = {"largo": 60.0, "andante": 90.0, "moderato": 116.0, "allegro": 140.0, "presto": 180.0}


def tempo_class(bpm: float) -> str:
    """The class of a tempo in BPM (the integer part decides, as in the seed)."""
    if bpm <= 0:
        raise ValueError(f"tempo must be positive, got {bpm}")
    b = int(bpm)
    for name, upper in zip(TEMPO_CLASSES, _UPPER_BPM, strict=False):
        if b <= upper:
            return name
    return "presto"


def representative_bpm(score: Score) -> float:
    """The tempo a listener hears for the longest time: the median BPM weighted by seconds over the song.

    Weighted by time, not by ticks: four bars at 120 BPM last 8 s and three bars at 60 BPM 12 s, so the song
    is heard at 60. The seed averaged the first five tempo events; a song whose intro is slow would be
    misclassed that way.
    """
    tempos = sorted(score.tempos, key=lambda t: t.tick) or []
    if not tempos:
        return 120.0
    end = max(score.end_tick, tempos[-1].tick + 1)
    spans: list[tuple[float, float]] = []
    for i, t in enumerate(tempos):
        stop = min(tempos[i + 1].tick if i + 1 < len(tempos) else end, end)
        if stop > t.tick and t.bpm > 0:
            spans.append((t.bpm, (stop - t.tick) / t.bpm))  # seconds are ticks / BPM up to one constant
    if not spans:
        return tempos[0].bpm
    spans.sort()
    half, acc = sum(w for _, w in spans) / 2.0, 0.0
    for bpm, w in spans:
        acc += w
        if acc >= half:
            return bpm
    return spans[-1][0]


def score_tempo_class(score: Score) -> str:
    return tempo_class(representative_bpm(score))
