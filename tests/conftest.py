"""Shared test set-up. Qt aborts the process without a display unless told to render offscreen, and
that must happen before anything imports Qt, hence here."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
POP909 = Path(os.environ.get("POPDIFFUSEQ_POP909", REPO.parent / "shared" / "data" / "pop909"))


@pytest.fixture(scope="session")
def pop909_root() -> Path:
    """The POP909 folder, or a skip saying where it was looked for."""
    if not POP909.is_dir() or not any(POP909.iterdir()):
        pytest.skip(f"POP909 not found at {POP909} (set POPDIFFUSEQ_POP909 to its folder)")
    return POP909


@pytest.fixture(scope="module")
def sf() -> str:
    """The small GM font (as in CI), or whatever find_soundfont finds; skip when audio rendering is impossible."""
    from engine.errors import SoundFontError
    from engine.synth.soundfont import find_soundfont, fluidsynth_available

    ok, reason = fluidsynth_available()
    if not ok:
        pytest.skip(f"FluidSynth unavailable: {reason}")
    tim = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
    if tim.is_file():
        return str(tim)
    try:
        return str(find_soundfont())
    except SoundFontError as exc:
        pytest.skip(f"no SoundFont: {exc}")
