"""Song-level train/valid/test split by a hash of (seed, song id).

The seed's split sliced one shuffled list (test was a subset of valid). Here each song's split depends only
on its own id and the seed, so adding or removing other songs never moves a song between splits, and
everything derived from one song (e.g. its MMA band versions) follows it by sharing its ``split_key``.
"""

from __future__ import annotations

import hashlib

SPLITS: tuple[str, ...] = ("train", "valid", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.90, 0.05, 0.05)


def unit_hash(song_id: str, seed: int) -> float:
    """A number in [0, 1) that is a fixed, well-mixed function of (seed, song_id)."""
    digest = hashlib.sha256(f"{seed}\x00{song_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(song_id: str, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> str:
    """'train', 'valid' or 'test' for a song; fractions are normalised, so (90, 5, 5) works too."""
    if len(fractions) != len(SPLITS) or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative numbers, got {fractions}")
    u = unit_hash(song_id, seed) * sum(fractions)
    edge = 0.0
    for name, f in zip(SPLITS, fractions, strict=True):
        edge += f
        if u < edge:
            return name
    return SPLITS[-1]


def parse_fractions(text: str) -> tuple[float, float, float]:
    """'90/5/5' or '0.9,0.05,0.05' -> a triple (validated by ``split_of``)."""
    parts = [p for p in text.replace(",", "/").split("/") if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"--split wants three numbers like 90/5/5, got {text!r}")
    a, b, c = (float(p) for p in parts)
    return a, b, c
