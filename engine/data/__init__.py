"""Datasets: loaders that turn dataset folders into ``Score`` objects (file I/O lives here, not in analysis)."""
