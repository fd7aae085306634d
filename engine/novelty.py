"""Novelty: how far a regenerated part moves from its own repeat; one default and one meaning for the
CLI, the editor and the docs.

1 generates the region from the masks alone (the network's own idea of the part); below 1 sampling starts
from the bar each regenerated part plays again there (engine.representation.repeats). Each of the
repeat's notes keeps its pitch with probability 1 - novelty and its rhythm (onset and length) with
1 - novelty**2, and a drum bar stays as it is with 1 - novelty**2 (engine.diffusion.absorbing.reveal_seeds:
a part is recognised by its rhythm, so it changes less); what is not kept is rewritten on the rest,
within the register the repeat spans in that bar, as many notes as the repeat plays, and where the repeat
rests the region rests. A kept note whose pitch is not a tone of the chord it now lands on keeps its
rhythm and gets a generated pitch; 0 plays the repeat as it is, apart from those pitches. New tracks and
'pitch' / 'rhythm' regeneration have no repeat to start from, and a tempo class other than the song's
own always generates from scratch.

The default 0.3 was chosen on the POP909 + MMA + band-freedoom valid split (model card, "Novelty"): there
it is ahead of 1 on groove, duration, onset intervals, chord tones, pitch classes and every drum check.
"""

NOVELTY_DEFAULT = 0.3
NOVELTY_HELP = ("How far regenerated parts move from what they play elsewhere in the song: 1 = all new, "
                f"lower = closer to the part's own repeat, its rhythm more than its notes (default {NOVELTY_DEFAULT:g})")
