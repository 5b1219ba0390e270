"""The neural predictors' hyper-parameter presets (validated by :class:`eagle.schemas.NeuralHyperParameters`).

``eagle`` (default)
    the space's own graph encoding (NB201: the cell graph with skip edges kept and dead edges
    flagged; chain spaces: one node per layer) with global features (MACs, params, op counts,
    one-hot), mean-normalised adjacency, hidden 64 x 3 layers, log targets standardised, L1 loss,
    batched float32 AdamW, warm-up then cosine decay over 50 epochs (longer training overfits the
    noisy devices), an ensemble of 3 models averaged in log space, the arch prior of
    :mod:`eagle.predictors.prior` (rank-8 features learned from the space's bundled latency
    datasets, where it has at least two) as extra global inputs (``prior=None`` turns it off),
    and one more input: the log latency that a per-op cost model fitted to the training data
    gives each arch (:mod:`eagle.predictors.features`; ``op_costs=False`` turns it off). The GCN
    then learns what that physical model misses.
``brp-nas``
    the seed's recipe as released: seed graph encoding, 4 x 600, raw-second targets, L1 (sum)
    loss, batch size 1, float64, AdamW 4e-4 / wd 5e-4, 250 epochs with ReduceLROnPlateau
    (factor 0.5, patience 10, threshold 0.01, after epoch 20) and early stopping (patience 35,
    after epoch 20) on a validation split, best-validation weights kept; ``eagle train`` takes the
    seed's 900 training and 100 validation archs unless told otherwise (:data:`DEFAULT_POINTS`).

An ``encoding`` a space does not have (``eagle`` and ``seed`` are NB201's) falls back to the
space's default encoding unless it was asked for explicitly.
"""

from __future__ import annotations

from typing import Any

#: archs per forward pass when predicting
PREDICT_CHUNK = 1024
_EAGLE_GCN: dict[str, Any] = {
    "model": "gcn",
    "encoding": "eagle",
    "adjacency": "mean",
    "readout": "global+mean+features",
    "hidden": 64,
    "layers": 3,
    "dropout": 0.0,
    "target": "log",
    "loss": "l1",
    "batch_size": 32,
    "epochs": 50,
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "scheduler": "cosine",
    "dtype": "float32",
    "ensemble": 3,
    "validation_fraction": 0.0,
    "early_stopping": None,
    "prior": "bundled",
    "prior_rank": 8,
    "prior_exclude": [],
    "op_costs": True,
}
# The seed's recipe (BRP-NAS as released), shared by its GCN and MLP.
_BRP_NAS: dict[str, Any] = {
    "model": "gcn",
    "encoding": "seed",
    "adjacency": "raw",
    "readout": "global",
    "hidden": 600,
    "layers": 4,
    "dropout": 0.002,
    "target": "raw",
    "loss": "l1sum",
    "batch_size": 1,
    "epochs": 250,
    "lr": 4e-4,
    "weight_decay": 5e-4,
    "scheduler": "plateau",
    "dtype": "float64",
    "ensemble": 1,
    "validation_fraction": 0.1,
    "early_stopping": 35,
    "prior": None,
    "prior_rank": 8,
    "prior_exclude": [],
    "op_costs": False,
}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "gcn": {"eagle": _EAGLE_GCN, "brp-nas": _BRP_NAS},
    "mlp": {
        "eagle": {
            **_EAGLE_GCN,
            "model": "mlp",
            "adjacency": "raw",
            "readout": "global",
            "hidden": 128,
            "lr": 1e-3,
            "ensemble": 1,
            "prior": None,
            "op_costs": False,
        },
        "brp-nas": {**_BRP_NAS, "model": "mlp"},
    },
}

#: (training, validation) archs ``eagle train`` takes with a preset when no --training-points is
#: given: the seed's recipe trained on 900 (+100 validation); Eagle's own preset takes every arch
DEFAULT_POINTS: dict[str, tuple[int | None, int]] = {"brp-nas": (900, 100), "eagle": (None, 0)}

#: seconds of training per training arch and epoch, one CPU thread, on this project's 2-core VM
#: (benchmarks/train_time_bench.py, idle; the eagle presets' from the busy run, whose idle
#: difference was below the timer noise; BENCHMARKS.md, issue 33): the estimate 'eagle train'
#: prints before it starts (a fit's set-up, a few seconds, comes on top)
SECONDS_PER_ARCH_EPOCH: dict[tuple[str, str], float] = {
    ("gcn", "brp-nas"): 8.7e-3,
    ("mlp", "brp-nas"): 6.3e-3,
    ("gcn", "eagle"): 5.2e-5,
    ("mlp", "eagle"): 3.2e-5,
}


def estimate_seconds(model: str, preset: str, n_train: int, epochs: int, ensemble: int = 1) -> float | None:
    """Seconds a training of ``n_train`` archs for ``epochs`` epochs takes here (None: unknown)."""
    rate = SECONDS_PER_ARCH_EPOCH.get((model, preset))
    return None if rate is None else rate * n_train * epochs * max(ensemble, 1)
