"""Predictor-based NAS: BRP-NAS (binary relation predictor + iterative data selection) and baselines."""

from __future__ import annotations

from eagle.nas.search import METHODS, SearchResult, search

__all__ = ["METHODS", "SearchResult", "search"]
