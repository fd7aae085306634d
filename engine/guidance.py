"""Classifier-free guidance: one default and one meaning for the CLI, the editor and the docs.

The sampler mixes logits as ``uncond + w * (cond - uncond)`` (engine.diffusion.base.guide), so w = 0 ignores
the prompts (tempo class, instruments), w = 1 follows them as trained, and w > 1 pushes harder toward them.
The tempo class also sets how many notes a regenerated part is planned to play (its slots and density
condition), and guidance scales that plan the same way: the class's density factor is raised to the power
w (``engine.model.density.guided_factor``), so guidance acts on the prompt and not only on the logits.
``engine.infill.infill`` defaults to the same value (tests/test_app_prompts.py checks that they agree).
"""

GUIDANCE_DEFAULT = 1.5
GUIDANCE_HELP = ("How strongly the prompts steer the result: 0 = ignore them, 1 = as trained, more = stronger "
                 "(default 1.5); a tempo class changes a part's number of notes more at higher guidance")
