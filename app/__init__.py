"""The desktop editor (Qt). Imports engine, never the reverse."""
