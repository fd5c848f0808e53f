"""Detectors: objects that turn one decoded photo into signals."""
