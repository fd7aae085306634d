"""Training: config, loop (AdamW, warmup + decay, AMP, EMA, DDP), exact-resume checkpoints and logs.

``train_main(argv)`` is the ``popdiffuseq train`` command; ``train(cfg, data, out)`` the Python entry.
"""

from engine.train.config import TrainConfig

__all__ = ["TrainConfig"]
