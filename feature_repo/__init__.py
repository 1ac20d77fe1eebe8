"""Feast definitions of reelhouse's online features (see ``definitions.py``)."""
