"""Chord qualities and their pitch-class templates, shared by detection, the SA vocabulary and display."""

from __future__ import annotations

PITCH_CLASS_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Quality symbol -> intervals above the root. '' is major. Order fixes the SA token order: do not reorder.
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "+": (0, 4, 8),
    "dim": (0, 3, 6),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
}
QUALITY_NAMES: tuple[str, ...] = tuple(QUALITIES)


def chord_name(root: int | None, quality: str) -> str:
    """Display name, e.g. 'F#m7', 'Bb', 'N.C.'."""
    if root is None:
        return "N.C."
    return PITCH_CLASS_NAMES[root % 12] + quality


def chord_pitch_classes(root: int, quality: str) -> frozenset[int]:
    return frozenset((root + i) % 12 for i in QUALITIES[quality])


def is_minor_family(quality: str) -> bool:
    """Major/minor family used to compare with annotations: minor, diminished and half-diminished count as minor."""
    return quality in ("m", "m7", "dim", "m7b5")
