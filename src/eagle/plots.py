"""PNG plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from eagle.fileio import atomic_write


def scatter(
    x: np.ndarray,
    y: np.ndarray,
    output: Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    log: bool = True,
    identity: bool = True,
) -> None:
    """Scatter plot of ``y`` against ``x`` (with the identity line), written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=120)
    ax.scatter(x, y, s=4, alpha=0.4, linewidths=0)
    if log and (x > 0).all() and (y > 0).all():
        ax.set_xscale("log")
        ax.set_yscale("log")
    lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
    if identity:
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    atomic_write(Path(output), lambda fh: fig.savefig(fh, format="png"))
    plt.close(fig)


def prediction_plot(pred: np.ndarray, true: np.ndarray, output: Path, *, title: str, unit: str = "s") -> None:
    """Predicted vs measured (log axes) and a histogram of relative errors, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=110)
    ax1.scatter(true, pred, s=4 if len(true) > 500 else 14, alpha=0.4 if len(true) > 500 else 0.8, linewidths=0)
    lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    ax1.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle="--")
    if (true > 0).all() and (pred > 0).all():
        ax1.set_xscale("log")
        ax1.set_yscale("log")
        readable_log_ticks(ax1)
    ax1.set_xlabel(f"measured [{unit}]")
    ax1.set_ylabel(f"predicted [{unit}]")
    err = (pred - true) / true * 100
    ax2.hist(np.clip(err, -50, 50), bins=60, color="tab:blue")
    for x in (-10, 10):
        ax2.axvline(x, color="grey", linestyle="--", linewidth=0.8)
    ax2.set_xlabel("relative error [%] (clipped at ±50)")
    ax2.set_ylabel("archs")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_write(Path(output), lambda fh: fig.savefig(fh, format="png"))
    plt.close(fig)


def readable_log_ticks(ax: Any) -> None:
    """Log axes that span less than a decade get matplotlib's minor labels, which overlap: show a
    few plain-number labels (1, 2, 5 per decade) and no minor labels instead."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
        axis.set_major_formatter(StrMethodFormatter("{x:.3g}"))
        axis.set_minor_formatter(NullFormatter())
