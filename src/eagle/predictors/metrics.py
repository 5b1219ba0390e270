"""Evaluation metrics for performance predictors (the seed's ±x% definition included)."""

from __future__ import annotations

from typing import Any

import numpy as np

LEEWAYS = (0.01, 0.05, 0.10, 0.20)


def within(pred: np.ndarray, true: np.ndarray, leeway: float) -> float:
    """The seed's accuracy: fraction of archs whose truth t satisfies (1-x)p <= t <= (1+x)p."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    return float(np.mean(((1 - leeway) * pred <= true) & (true <= (1 + leeway) * pred)))


def evaluate(pred: np.ndarray, true: np.ndarray) -> dict[str, Any]:
    """Spearman, Kendall tau, RMSE, MAPE and the fraction within ±1/5/10/20%."""
    from scipy import stats

    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1 or len(pred) < 2:
        raise ValueError(f"need two equal 1-d arrays of at least 2 values, got {pred.shape} and {true.shape}")
    out: dict[str, Any] = {
        "n": len(true),
        "spearman": float(stats.spearmanr(pred, true).statistic),
        "kendall_tau": float(stats.kendalltau(pred, true).statistic),
        "rmse": float(np.sqrt(np.mean((pred - true) ** 2))),
        "mape": float(np.mean(np.abs(pred - true) / np.abs(true))),
    }
    for x in LEEWAYS:
        out[f"within_{round(x * 100)}pct"] = within(pred, true, x)
    return out
