"""Finding a SoundFont and creating a FluidSynth synthesizer, with errors a user can act on.

``fluidsynth`` (pyfluidsynth) loads ``libfluidsynth`` with ctypes when it is imported and raises
``ImportError("Couldn't find the FluidSynth library.")`` when the system library is missing. It is therefore
imported only inside :func:`import_fluidsynth`, so that importing the engine never fails on a machine without
it and the editor can still open files and show why audio is off.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.errors import SoundFontError

ENV_VAR = "POPDIFFUSEQ_SOUNDFONT"
SYSTEM_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
)
SOUNDFONT_PACKAGE = "fluid-soundfont-gm"
FLUIDSYNTH_PACKAGE = "libfluidsynth3"
DRUM_BANK = 128


class SynthUnavailableError(SoundFontError):
    """The FluidSynth library (or its Python binding) is missing, so nothing can be rendered.

    A subclass of SoundFontError so that callers handling "no sound possible" need one ``except``.
    """


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """Settings of one FluidSynth instance.

    ``gain`` 0.5 leaves headroom for a five-part band at forte without clipping (pyfluidsynth's 0.2 is too
    quiet for a single piano line, 1.0 clips a full mix). Reverb and chorus are on because a dry GM render
    sounds like a test tone to a musician; tests can turn them off for crisp silence measurements.
    """

    sample_rate: int = 44100
    gain: float = 0.5
    reverb: bool = True
    chorus: bool = True
    polyphony: int = 256


def import_fluidsynth() -> ModuleType:
    """The ``fluidsynth`` module, or SynthUnavailableError naming the package to install."""
    try:
        import fluidsynth
    except ImportError as exc:
        if "FluidSynth library" in str(exc):
            raise SynthUnavailableError(
                f"The FluidSynth library is not installed, so audio preview is off. "
                f"Install it with: sudo apt-get install {FLUIDSYNTH_PACKAGE}"
            ) from exc
        raise SynthUnavailableError(
            "The Python package pyfluidsynth is missing: .venv/bin/pip install pyfluidsynth==1.4.0"
        ) from exc
    except OSError as exc:  # the library exists but cannot be loaded (wrong architecture, broken install)
        raise SynthUnavailableError(
            f"The FluidSynth library could not be loaded ({exc}). Reinstall it with: "
            f"sudo apt-get install --reinstall {FLUIDSYNTH_PACKAGE}"
        ) from exc
    return fluidsynth


def fluidsynth_available() -> tuple[bool, str]:
    """(True, '') when FluidSynth can be used, else (False, the reason) -- for disabling UI actions."""
    try:
        import_fluidsynth()
    except SoundFontError as exc:
        return False, str(exc)
    return True, ""


def _check_sf2(path: Path, origin: str) -> Path:
    """``path`` resolved, or SoundFontError when it is missing or not a RIFF sfbk (SF2/SF3) file.

    Reading the 12-byte header costs nothing and turns FluidSynth's silent "-1" on a wrong file into a
    message that names the file.
    """
    if not path.is_file():
        raise SoundFontError(f"The SoundFont {origin} does not exist: {path}")
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise SoundFontError(f"The SoundFont {origin} cannot be read: {path} ({exc})") from exc
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(f"The file {origin} is not a SoundFont (.sf2/.sf3): {path}")
    return path.resolve()


def pretty_midi_soundfont() -> Path | None:
    """The TimGM6mb.sf2 inside the pretty_midi package, found without importing it (it is slow to import)."""
    try:
        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "TimGM6mb.sf2"
        if candidate.is_file():
            return candidate
    return None


def soundfont_candidates() -> list[Path]:
    """The automatic search order after the user setting and the environment variable."""
    found = list(SYSTEM_SOUNDFONTS)
    bundled = pretty_midi_soundfont()
    if bundled is not None:
        found.append(bundled)
    return found


def find_soundfont(user_path: str | os.PathLike[str] | None = None) -> Path:
    """The SoundFont to use: the user's setting, then $POPDIFFUSEQ_SOUNDFONT, then the system GM fonts.

    An explicit choice (setting or variable) that does not exist is an error rather than a silent fallback:
    the user asked for that sound, and hearing another one would be a surprise they cannot explain.
    """
    if user_path:
        return _check_sf2(Path(user_path).expanduser(), "chosen in the settings")
    env = os.environ.get(ENV_VAR)
    if env:
        return _check_sf2(Path(env).expanduser(), f"named by ${ENV_VAR}")
    for candidate in soundfont_candidates():
        if candidate.is_file():
            try:
                return _check_sf2(candidate, "found on this system")
            except SoundFontError:
                continue
    searched = ", ".join(str(p) for p in SYSTEM_SOUNDFONTS)
    raise SoundFontError(
        f"No General MIDI SoundFont found (looked in {searched}). Install one with: "
        f"sudo apt-get install {SOUNDFONT_PACKAGE}  (or choose a .sf2 file in the settings, "
        f"or set ${ENV_VAR})"
    )


def new_synth(soundfont: str | os.PathLike[str] | None, config: SynthConfig) -> tuple[Any, int]:
    """A FluidSynth ``Synth`` with ``soundfont`` loaded, and the font id, ready for ``get_samples``.

    No audio driver is started (``fs.start()`` is never called): offline rendering and the sounddevice
    callback both pull samples themselves, which is what works on machines without a sound card.
    """
    fluidsynth = import_fluidsynth()
    path = find_soundfont(soundfont)
    fs = fluidsynth.Synth(
        gain=float(config.gain),
        samplerate=float(config.sample_rate),
        channels=16,
        **{
            "synth.reverb.active": int(config.reverb),
            "synth.chorus.active": int(config.chorus),
            "synth.polyphony": int(config.polyphony),
        },
    )
    sfid = fs.sfload(str(path))
    if sfid < 0:
        fs.delete()
        raise SoundFontError(f"FluidSynth could not load the SoundFont {path} (damaged or unsupported file)")
    return fs, sfid


def select_program(fs: Any, sfid: int, channel: int, bank: int, program: int) -> None:
    """Give ``channel`` a preset, falling back to preset 0 of the bank when the font lacks it.

    Small fonts (and drum kits other than 0) miss presets; FluidSynth would then leave the channel silent.
    """
    if fs.program_select(channel, sfid, bank, program) < 0 and program != 0:
        fs.program_select(channel, sfid, bank, 0)
