"""The engine's error types: one small hierarchy with messages a musician can act on.

Every failure the user can cause (a bad file, a wrong checkpoint, a missing soundfont) raises one of these,
so the editor and the command line can show the message instead of a traceback.
"""


class StudioError(Exception):
    """Base of every error the engine raises on purpose."""


class MidiReadError(StudioError):
    """A MIDI file could not be loaded: corrupt, empty, unsupported or too large."""


class MidiWriteError(StudioError):
    """A MIDI file could not be written (the original file, if any, is left untouched)."""


class RepresentationError(StudioError):
    """A score cannot be turned into the SA representation (or back) as asked."""


class CheckpointError(StudioError):
    """A model checkpoint is missing, unreadable or does not match this version of the engine."""


class SoundFontError(StudioError):
    """No usable SoundFont was found or it could not be loaded."""


class AudioUnavailableError(StudioError):
    """Live playback is impossible here (no audio device or no PortAudio); rendering to WAV still works."""
