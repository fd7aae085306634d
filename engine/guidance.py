"""Classifier-free guidance: one default and one meaning for the CLI, the editor and the docs.

The sampler mixes logits as ``uncond + w * (cond - uncond)`` (engine.diffusion.base.guide), so w = 0 ignores
the prompts (tempo class, instruments), w = 1 follows them as trained, and w > 1 pushes harder toward them.
``engine.infill.infill`` defaults to the same value (tests/test_app_prompts.py checks that they agree).
"""

GUIDANCE_DEFAULT = 1.5
GUIDANCE_HELP = "How strongly the prompts steer the result: 0 = ignore them, 1 = as trained, more = stronger (default 1.5)"
