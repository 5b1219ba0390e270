"""PNG plots (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

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
