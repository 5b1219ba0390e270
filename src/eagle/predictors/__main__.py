"""``python -m eagle.predictors``: the seed's predictor entry point (see :mod:`eagle.compat.predictors_main`)."""

from __future__ import annotations

import sys

from eagle.compat.predictors_main import main

if __name__ == "__main__":
    sys.exit(main())
