"""Graph convolutional predictors: the seed's GCN (preset ``brp-nas``) and Eagle's default.

Graph convolution: ``H' = Â (H W) + b`` over a batch of 9-node graphs (``Â`` the adjacency,
row-normalised in Eagle's default, raw in the seed's), each layer followed by LayerNorm, ReLU
and dropout. The seed reads the prediction off the global node; Eagle's default also pools the
live nodes and appends global features (MACs, params, op counts) before a small MLP head.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import torch
from torch import nn


class GraphConv(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_in, d_out))
        self.bias = nn.Parameter(torch.empty(d_out))
        bound = 1.0 / math.sqrt(d_out)  # the seed's "thomas" init
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return adj @ (x @ self.weight) + self.bias


class GCN(nn.Module):
    """Stack of graph convolutions; ``readout`` is ``global`` (seed) or ``global+mean+features``."""

    def __init__(
        self,
        n_features: int,
        hidden: int,
        layers: int,
        dropout: float,
        *,
        readout: str = "global",
        n_global: int = 0,
        n_out: int = 1,
    ) -> None:
        super().__init__()
        dims = [n_features] + [hidden] * layers
        self.convs = nn.ModuleList(GraphConv(a, b) for a, b in itertools.pairwise(dims))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.readout = readout
        head_in = hidden if readout == "global" else 2 * hidden + n_global
        if readout == "global":
            self.head: nn.Module = nn.Linear(head_in, n_out)
        else:
            self.head = nn.Sequential(nn.Linear(head_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def embed(self, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = self.dropout(torch.relu(norm(conv(adj, h))))
        return h

    def features(self, adj: torch.Tensor, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """The vector fed to the head (what BRP and few-shot models build on)."""
        h = self.embed(adj, x)
        if self.readout == "global":
            return h[:, 0]
        live = (adj.diagonal(dim1=1, dim2=2) > 0).to(h.dtype).unsqueeze(-1)
        mean = (h * live).sum(1) / live.sum(1).clamp(min=1)
        parts = [h[:, 0], mean] + ([g] if g is not None and g.shape[-1] else [])
        return torch.cat(parts, dim=-1)

    def forward(self, adj: torch.Tensor, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(adj, x, g)).squeeze(-1)


def normalise_rows(adj: np.ndarray) -> np.ndarray:
    return adj / np.clip(adj.sum(-1, keepdims=True), 1, None)


def make_gcn(config: dict[str, Any], n_features: int, n_global: int) -> GCN:
    return GCN(
        n_features,
        int(config["hidden"]),
        int(config["layers"]),
        float(config["dropout"]),
        readout=str(config["readout"]),
        n_global=n_global,
    )
