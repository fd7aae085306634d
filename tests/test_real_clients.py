"""An edited, exported song read back by other MIDI software (mido, pretty_midi, music21): notes, tempo
and programs must agree with what the editor wrote. Each client is skipped with a reason when absent."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.midi_io import write_midi
from engine.score import Note, TempoChange, Track
from tests.midi_fixtures import pop_band

TPB = 480


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """pop_band, edited as a user would: a track transposed, a note deleted, a brass track added, a tempo change."""
    score = pop_band(4)
    score.tracks[0].notes = [Note(n.start, n.end, n.pitch + 2, n.velocity) for n in score.tracks[0].notes[1:]]
    score.tracks.append(Track("Brass", 61, False, [Note(i * TPB, i * TPB + TPB // 2, 60 + i, 100) for i in range(8)]))
    score.tempos = [TempoChange(0, 100.0), TempoChange(8 * TPB, 132.0)]
    path = tmp_path_factory.mktemp("export") / "edited.mid"
    write_midi(score, path)
    return score, path


def _expected_seconds(score):
    return Counter(
        (round(score.tick_to_seconds(n.start), 3), n.pitch, t.is_drum) for t in score.tracks for n in t.notes
    )


def test_mido_reads_notes_tempo_and_programs(exported):
    mido = pytest.importorskip("mido")
    score, path = exported
    mf = mido.MidiFile(path)
    assert mf.ticks_per_beat == TPB
    tempos = [(round(mido.tempo2bpm(m.tempo), 3)) for m in mido.merge_tracks(mf.tracks) if m.type == "set_tempo"]
    assert tempos == [100.0, 132.0]
    programs = sorted({(m.channel, m.program) for tr in mf.tracks for m in tr if m.type == "program_change"})
    assert {p for _, p in programs} >= {73, 0, 33, 48, 61}
    onsets, now = Counter(), 0
    for m in mido.merge_tracks(mf.tracks):
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            onsets[(now, m.note, m.channel == 9)] += 1
    assert onsets == Counter((n.start, n.pitch, t.is_drum) for t in score.tracks for n in t.notes)


def test_pretty_midi_reads_the_same_notes_in_seconds(exported):
    pretty_midi = pytest.importorskip("pretty_midi")
    score, path = exported
    pm = pretty_midi.PrettyMIDI(str(path))
    got = Counter((round(n.start, 3), n.pitch, inst.is_drum) for inst in pm.instruments for n in inst.notes)
    assert got == _expected_seconds(score)
    assert sorted((i.program, i.is_drum, i.name) for i in pm.instruments) == sorted((t.program, t.is_drum, t.name) for t in score.tracks)
    times, bpms = pm.get_tempo_changes()
    assert [round(b, 3) for b in bpms] == [100.0, 132.0]


def test_music21_reads_the_parts_and_pitches(exported):
    music21 = pytest.importorskip("music21")
    score, path = exported
    parsed = music21.converter.parse(str(path), quantizePost=False)
    pitches = Counter()
    for el in parsed.recurse().notes:
        for p in el.pitches:
            pitches[p.midi] += 1
    pitched = Counter(n.pitch for t in score.tracks if not t.is_drum for n in t.notes)
    # music21 keeps pitched notes exactly; drum notes it may map to unpitched percussion objects.
    assert all(pitches[p] >= c for p, c in pitched.items())
    marks = [round(m.number, 3) for m in parsed.recurse().getElementsByClass("MetronomeMark")]
    assert 100.0 in marks and 132.0 in marks
    assert len(parsed.parts) == len(score.tracks)
