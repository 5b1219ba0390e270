"""Regression tree ensembles read from LightGBM's text model format, checked, predicted in NumPy.

A kernel model file carries its regressors as LightGBM model text. LightGBM's own parser is
native code that trusts its input: a text cut short segfaults, a split feature out of range, a
child cycle or a bad decision type abort the process. So Eagle never hands a model text it
read from a file to LightGBM: :func:`parse_lightgbm` reads it as data (only the keys a numerical
regression tree needs; every count, index, child link and value checked, the tree walked from
its root so each node is reached exactly once) and :class:`TreeEnsemble` predicts with the same
decision rule as LightGBM (``x <= threshold`` goes left; missing values as the node's default
direction says), all trees at once in NumPy. LightGBM is used only to fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eagle.errors import EagleError

#: bounds far above any model Eagle fits (500 trees of 31 leaves per kernel type)
MAX_TREES = 20_000
MAX_LEAVES = 1 << 16
MAX_TEXT_CHARS = 64 << 20

_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2
_ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold
_TREE_KEYS = {
    "num_leaves",
    "num_cat",
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "leaf_value",
    "leaf_weight",
    "leaf_count",
    "internal_value",
    "internal_weight",
    "internal_count",
    "is_linear",
    "shrinkage",
}


class TreeModelError(EagleError):
    """A model text that is not a well-formed numerical regression tree ensemble."""


@dataclass
class TreeEnsemble:
    """Trees padded to one width: ``feature``/``threshold``/``left``/``right``/``default_left``/
    ``missing`` per internal node, ``leaf`` per leaf (children: >= 0 an internal node, < 0 the
    leaf ``~child``). ``predict`` sums every tree's leaf, as LightGBM's raw score does."""

    n_features: int
    feature: np.ndarray  # (T, I) int
    threshold: np.ndarray  # (T, I) float
    left: np.ndarray  # (T, I) int
    right: np.ndarray  # (T, I) int
    default_left: np.ndarray  # (T, I) bool
    missing: np.ndarray  # (T, I) int
    leaf: np.ndarray  # (T, L) float
    depth: int
    text: str  # the LightGBM model text it was read from (what a kernel model file stores)

    @property
    def n_trees(self) -> int:
        return int(self.leaf.shape[0])

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < self.n_features:
            raise EagleError(f"tree model expects {self.n_features} features per row, got shape {X.shape}")
        n, t = X.shape[0], self.n_trees
        if n == 0 or t == 0:
            return np.zeros(n)
        trees = np.broadcast_to(np.arange(t), (n, t))
        rows = np.broadcast_to(np.arange(n)[:, None], (n, t))
        node = np.zeros((n, t), dtype=np.int64)
        if self.feature.shape[1] == 0:  # every tree a single leaf
            node[:] = -1
        for _ in range(self.depth + 1):
            inner = node >= 0
            if not inner.any():
                break
            tr, nd, rw = trees[inner], node[inner], rows[inner]
            x = X[rw, self.feature[tr, nd]]
            miss = self.missing[tr, nd]
            x = np.where(np.isnan(x) & (miss != _MISSING_NAN), 0.0, x)
            use_default = ((miss == _MISSING_ZERO) & (np.abs(x) <= _ZERO_THRESHOLD)) | (
                (miss == _MISSING_NAN) & np.isnan(x)
            )
            go_left = np.where(use_default, self.default_left[tr, nd], x <= self.threshold[tr, nd])
            node[inner] = np.where(go_left, self.left[tr, nd], self.right[tr, nd])
        return self.leaf[trees, ~node].sum(axis=1)


def _numbers(text: str, kind: type, key: str, where: str, count: int, *, infinite: bool = False) -> np.ndarray:
    parts = text.split()
    if len(parts) != count:
        raise TreeModelError(f"{where}: {key} has {len(parts)} values, expected {count}")
    try:
        values = np.array([kind(p) for p in parts], dtype=np.float64 if kind is float else np.int64)
    except (ValueError, OverflowError):
        raise TreeModelError(f"{where}: {key} holds a value that is not a number") from None
    if kind is float and (np.isnan(values).any() or (not infinite and np.isinf(values).any())):
        raise TreeModelError(f"{where}: {key} holds a NaN{'' if infinite else ' or infinite'} value")
    return values


def _int(text: str, key: str, where: str, low: int, high: int) -> int:
    t = text.strip()
    if not (t.lstrip("-").isdigit() and len(t) <= 12):
        raise TreeModelError(f"{where}: {key}={t[:20]!r} is not a whole number")
    value = int(t)
    if not low <= value <= high:
        raise TreeModelError(f"{where}: {key}={value} is out of range ({low}..{high})")
    return value


def _check_structure(left: np.ndarray, right: np.ndarray, n_leaves: int, where: str) -> int:
    """Walk the tree from its root: every internal node and every leaf reached exactly once (no
    cycle, no shared or dangling child). Returns the depth."""
    n_inner = n_leaves - 1
    for side, children in (("left_child", left), ("right_child", right)):
        bad = (children >= n_inner) | (children < -n_leaves)
        if bad.any():
            raise TreeModelError(f"{where}: {side} {int(children[bad][0])} points outside the tree")
    seen_inner = np.zeros(n_inner, dtype=bool)
    seen_leaf = np.zeros(n_leaves, dtype=bool)
    frontier, depth = [0], 0
    seen_inner[0] = True
    while frontier:
        depth += 1
        nxt = []
        for i in frontier:
            for child in (int(left[i]), int(right[i])):
                if child >= 0:
                    if seen_inner[child]:
                        raise TreeModelError(f"{where}: node {child} is reached twice (a cycle or a shared child)")
                    seen_inner[child] = True
                    nxt.append(child)
                else:
                    if seen_leaf[~child]:
                        raise TreeModelError(f"{where}: leaf {~child} is reached twice")
                    seen_leaf[~child] = True
        frontier = nxt
    if not (seen_inner.all() and seen_leaf.all()):
        raise TreeModelError(f"{where}: some nodes or leaves cannot be reached from the root")
    return depth


def parse_lightgbm(text: object, n_features: int, what: str = "tree model") -> TreeEnsemble:
    """The :class:`TreeEnsemble` of a LightGBM text model (``Booster.model_to_string``), checked;
    any defect is a :class:`TreeModelError` naming it. Only numerical single-output regression
    trees with ``n_features`` features or fewer are accepted."""
    if not isinstance(text, str):
        raise TreeModelError(f"{what}: the model text is a {type(text).__name__}, not text")
    if len(text) > MAX_TEXT_CHARS:
        raise TreeModelError(f"{what}: the model text is {len(text)} characters (at most {MAX_TEXT_CHARS})")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "tree":
        raise TreeModelError(f"{what}: not a LightGBM text model (it must start with 'tree')")
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    ended = False
    for raw in lines[1:]:
        line = raw.strip()
        if line == "end of trees":
            ended = True
            break
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise TreeModelError(f"{what}: unexpected line {line[:40]!r}")
        if key == "Tree":
            if len(trees) >= MAX_TREES:
                raise TreeModelError(f"{what}: more than {MAX_TREES} trees")
            _int(value, "Tree", what, len(trees), len(trees))
            current = {}
            trees.append(current)
        elif current is None:
            header[key] = value
        elif key in _TREE_KEYS:
            if key in current:
                raise TreeModelError(f"{what}: tree {len(trees) - 1} gives {key} twice")
            current[key] = value
        else:
            raise TreeModelError(f"{what}: tree {len(trees) - 1} has an unknown field {key!r}")
    if not ended:
        raise TreeModelError(f"{what}: the model text is cut short (no 'end of trees')")
    for key, expected in (("num_class", "1"), ("num_tree_per_iteration", "1")):
        if header.get(key, "").strip() != expected:
            raise TreeModelError(f"{what}: {key} must be {expected} (a single-output regression model)")
    if "average_output" in header or "linear_tree" in header:
        raise TreeModelError(f"{what}: only plain boosted regression trees are accepted")
    max_feature = _int(header.get("max_feature_idx", "x"), "max_feature_idx", what, 0, n_features - 1)
    parsed = [_parse_tree(t, i, max_feature, what) for i, t in enumerate(trees)]
    width_i = max([len(p[0]) for p in parsed], default=0)
    width_l = max([len(p[6]) for p in parsed], default=1)

    def pad(idx: int, width: int, fill: float | int | bool, dtype: type) -> np.ndarray:
        out: np.ndarray = np.full((len(parsed), width), fill, dtype=dtype)
        for row, p in enumerate(parsed):
            out[row, : len(p[idx])] = p[idx]
        return out

    return TreeEnsemble(
        n_features=max_feature + 1,
        feature=pad(0, width_i, 0, np.int64),
        threshold=pad(1, width_i, 0.0, np.float64),
        left=pad(2, width_i, -1, np.int64),
        right=pad(3, width_i, -1, np.int64),
        default_left=pad(4, width_i, False, bool),
        missing=pad(5, width_i, 0, np.int64),
        leaf=pad(6, width_l, 0.0, np.float64),
        depth=max([p[7] for p in parsed], default=0),
        text=text,
    )


def _parse_tree(fields: dict[str, str], index: int, max_feature: int, what: str) -> tuple:
    where = f"{what}: tree {index}"
    for key in ("num_leaves", "leaf_value"):
        if key not in fields:
            raise TreeModelError(f"{where}: {key} is missing")
    n_leaves = _int(fields["num_leaves"], "num_leaves", where, 1, MAX_LEAVES)
    if _int(fields.get("num_cat", "0"), "num_cat", where, 0, MAX_LEAVES) != 0:
        raise TreeModelError(f"{where}: categorical splits are not accepted")
    if fields.get("is_linear", "0").strip() != "0":
        raise TreeModelError(f"{where}: linear trees are not accepted")
    leaf = _numbers(fields["leaf_value"], float, "leaf_value", where, n_leaves)
    if n_leaves == 1:
        empty_i = np.zeros(0, dtype=np.int64)
        return empty_i, np.zeros(0), empty_i, empty_i, np.zeros(0, dtype=bool), empty_i, leaf, 0
    n_inner = n_leaves - 1
    for key in ("split_feature", "threshold", "decision_type", "left_child", "right_child"):
        if key not in fields:
            raise TreeModelError(f"{where}: {key} is missing")
    feature = _numbers(fields["split_feature"], int, "split_feature", where, n_inner)
    if ((feature < 0) | (feature > max_feature)).any():
        raise TreeModelError(f"{where}: split_feature out of range (0..{max_feature})")
    threshold = _numbers(fields["threshold"], float, "threshold", where, n_inner, infinite=True)
    decision = _numbers(fields["decision_type"], int, "decision_type", where, n_inner)
    if ((decision < 0) | (decision > 15) | (decision & 1).astype(bool)).any():
        raise TreeModelError(f"{where}: decision_type must be a numerical split (0..15, even)")
    missing = (decision >> 2) & 3
    if (missing > _MISSING_NAN).any():
        raise TreeModelError(f"{where}: decision_type names an unknown missing-value rule")
    left = _numbers(fields["left_child"], int, "left_child", where, n_inner)
    right = _numbers(fields["right_child"], int, "right_child", where, n_inner)
    depth = _check_structure(left, right, n_leaves, where)
    return feature, threshold, left, right, (decision & 2).astype(bool), missing, leaf, depth
