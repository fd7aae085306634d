"""Music analysis: pure functions over ``engine.score`` objects (no I/O, no global state)."""
