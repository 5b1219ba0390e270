"""Binary relation predictor (BRP): which of two archs is better.

One GCN trunk embeds both graphs of a pair; a head on the concatenated embeddings outputs the
relation. ``twoway`` (the seed's default): Linear(2d -> 2) + LogSoftmax trained with KL divergence
against softmax([a_i, a_j]) of the accuracies (scaled to [0, 1]); ``oneway``: Linear(2d -> 1) +
sigmoid with BCE against (a_i - a_j + 1) / 2.

Ranking the space costs one trunk pass per arch: both heads are linear in the two embeddings,
so the comparator ``P(i > j)`` symmetrised over the two orders of the pair is a difference of
per-arch scores, ``s(i) - s(j)``. Sorting by ``s`` is exactly sorting with that comparator, in
O(n log n) after n embeddings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from eagle import spaces
from eagle.predictors.features import graph_inputs
from eagle.predictors.gcn import GCN
from eagle.spaces.base import Archs, SearchSpace


class BRPModel(nn.Module):
    def __init__(self, trunk: GCN, embed_dim: int, head: str = "twoway") -> None:
        super().__init__()
        self.trunk = trunk
        self.kind = head
        self.head = nn.Linear(2 * embed_dim, 2 if head == "twoway" else 1)

    def embed(self, a: torch.Tensor, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return self.trunk.features(a, x, g)

    def pair_logits(self, ei: torch.Tensor, ej: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([ei, ej], dim=-1))

    def scores(self, e: torch.Tensor) -> torch.Tensor:
        """Per-arch score whose differences are the symmetrised pair comparator."""
        d = e.shape[-1]
        w = self.head.weight
        if self.kind == "twoway":
            wa, wb = w[0, :d] - w[1, :d], w[0, d:] - w[1, d:]
        else:
            wa, wb = w[0, :d], w[0, d:]
        return e @ (wa - wb)


class BinaryRelationPredictor:
    """Estimator: ``fit(archs, accuracy)`` on all ordered pairs, ``scores(archs)`` to rank."""

    def __init__(
        self,
        *,
        head: str = "twoway",
        hidden: int = 64,
        layers: int = 3,
        epochs: int = 40,
        batch_size: int = 64,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        seed: int = 0,
        encoding: str = "seed",
        space: str | SearchSpace | None = None,
        lookup: Callable[[np.ndarray], Archs] | None = None,
        extra: np.ndarray | None = None,
    ) -> None:
        if head not in ("twoway", "oneway"):
            raise ValueError(f"head must be twoway or oneway, got {head!r}")
        self.head = head
        self.hidden, self.layers = hidden, layers
        self.epochs, self.batch_size = epochs, batch_size
        self.lr, self.weight_decay = lr, weight_decay
        self.seed = seed
        self.space = spaces.resolve(space)
        #: arch ids -> what the space encodes (indices of an enumerable space pass through)
        self.lookup = lookup or (lambda idx: idx)
        self.encoding = encoding if encoding in self.space.encodings else self.space.encodings[0]
        #: more global inputs per arch id (zero-cost proxy ranks, graph features), or None
        self.extra = extra
        self.model_: BRPModel | None = None

    def _tensors(self, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
        idx = np.asarray(idx, dtype=np.int64)
        enc = graph_inputs(self.space, self.lookup(idx), self.encoding, "mean")
        g = enc.globals if self.extra is None else np.concatenate([enc.globals, self.extra[idx]], axis=1)
        return torch.from_numpy(enc.adjacency), torch.from_numpy(enc.nodes), torch.from_numpy(g.astype(np.float32))

    def new_model(self) -> BRPModel:
        _a, x, g = self._tensors(np.zeros(1, dtype=np.int64))
        n_feat, n_glob = x.shape[2], g.shape[1]
        trunk = GCN(n_feat, self.hidden, self.layers, 0.0, readout="global+mean+features", n_global=n_glob)
        return BRPModel(trunk, 2 * self.hidden + n_glob, self.head)

    def fit(
        self,
        archs: np.ndarray,
        accuracy: np.ndarray,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        warm_start: bool = True,
        trunk_init: dict[str, Any] | None = None,
    ) -> BinaryRelationPredictor:
        """Train on every ordered pair (i, j), i != j, of ``archs``; accuracies in [0, 1]."""
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        idx = np.asarray(archs, dtype=np.int64)
        acc = torch.tensor(np.asarray(accuracy, dtype=np.float64), dtype=torch.float32)
        if self.model_ is None or not warm_start:
            self.model_ = self.new_model()
            if trunk_init is not None:
                self.model_.trunk.load_state_dict(trunk_init, strict=False)
        model = self.model_
        a, x, g = self._tensors(idx)
        n = len(idx)
        ii, jj = np.nonzero(~np.eye(n, dtype=bool))
        epochs = epochs or self.epochs
        bs = batch_size or self.batch_size
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = max(1, epochs * int(np.ceil(len(ii) / bs)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * min(1.0, s / steps))))
        model.train()
        for _ in range(epochs):
            order = rng.permutation(len(ii))
            for s in range(0, len(order), bs):
                b = order[s : s + bs]
                bi, bj = torch.from_numpy(ii[b]), torch.from_numpy(jj[b])
                # embed each arch of the batch once
                uniq, inv = torch.unique(torch.cat([bi, bj]), return_inverse=True)
                e = model.embed(a[uniq], x[uniq], g[uniq])
                ei, ej = e[inv[: len(b)]], e[inv[len(b) :]]
                logits = model.pair_logits(ei, ej)
                ai, aj = acc[bi], acc[bj]
                if self.head == "twoway":
                    target = torch.softmax(torch.stack([ai, aj], dim=-1), dim=-1)
                    loss = nn.functional.kl_div(torch.log_softmax(logits, -1), target, reduction="batchmean")
                else:
                    target = (ai - aj + 1) / 2
                    loss = nn.functional.binary_cross_entropy_with_logits(logits.squeeze(-1), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        model.eval()
        return self

    def scores(self, archs: np.ndarray) -> np.ndarray:
        """Higher is better; sorting by score = sorting with the symmetrised BRP comparator."""
        if self.model_ is None:
            raise RuntimeError("BRP is not fitted")
        idx = np.asarray(archs, dtype=np.int64)
        out = []
        with torch.no_grad():
            for s in range(0, len(idx), 4096):
                a, x, g = self._tensors(idx[s : s + 4096])
                out.append(self.model_.scores(self.model_.embed(a, x, g)).numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def prefers(self, i: int, j: int) -> float:
        """P(i better than j) from the head, symmetrised over both orders (for tests/inspection)."""
        assert self.model_ is not None
        a, x, g = self._tensors(np.array([i, j]))
        with torch.no_grad():
            e = self.model_.embed(a, x, g)
            l1 = self.model_.pair_logits(e[0:1], e[1:2])
            l2 = self.model_.pair_logits(e[1:2], e[0:1])
            if self.head == "twoway":
                d = (l1[0, 0] - l1[0, 1]) - (l2[0, 0] - l2[0, 1])
            else:
                d = l1[0, 0] - l2[0, 0]
        return float(torch.sigmoid(d))
