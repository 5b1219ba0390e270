"""Seed-compatible NB201 helpers; the implementation lives in :mod:`eagle.spaces.nasbench201`."""
