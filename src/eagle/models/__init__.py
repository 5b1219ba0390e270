"""Seed-compatible import paths (``from eagle.models.nasbench201 import utils``)."""
