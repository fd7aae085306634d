"""Evaluation of infilling: music metrics (``metrics``), evaluation regions (``tasks``), baselines
(``baselines``), results and figures (``report``) and the ``popdiffuseq evaluate`` command (``cli``).

Nothing heavy is imported here: the metrics are numpy only, torch is loaded only when a model is given.
"""
