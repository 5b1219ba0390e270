"""Everything that keeps the seed's entry points and import paths working, in one place.

* ``python -m eagle.device_runner`` -> :mod:`eagle.compat.device_runner`
* ``python -m eagle.predictors`` -> :mod:`eagle.compat.predictors_main`
* ``eagle.models.nasbench201.utils`` -> :mod:`eagle.compat.nasbench201_utils`

The old paths are thin shims that import from here; the seed's formats themselves (pickles,
YAML, raw results files) are read and written by the modules that own them
(:mod:`eagle.datasets`, :mod:`eagle.schemas`, :mod:`eagle.measurement.seedtools`).
"""
