"""Novelty: how far a regenerated part moves from its own repeat; one default and one meaning for the
CLI, the editor and the docs.

1 generates the region from the masks alone (the network's own idea of the part); below 1 sampling starts
from the bar each regenerated part plays again there (engine.representation.repeats) and keeps a
1 - novelty share of its notes, the rest generated on them; 0 plays the repeat as it is. New tracks and
'pitch' / 'rhythm' regeneration have no repeat to start from, and a tempo class other than the song's own
always generates from scratch. The default was chosen on the POP909 valid split (model card, "Novelty").
"""

NOVELTY_DEFAULT = 1.0
NOVELTY_HELP = ("How far regenerated parts move from what they play elsewhere in the song: 1 = all new, "
                f"lower = closer to the part's own repeat (default {NOVELTY_DEFAULT:g})")
