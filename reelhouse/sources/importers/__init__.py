"""Dataset importers: turn public interaction datasets into landing files (landing contract v1)."""
