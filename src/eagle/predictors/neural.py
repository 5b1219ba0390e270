"""Neural predictors (GCN, MLP) as estimators: ``fit(archs, y) -> self``, ``predict(archs)``.

``archs`` are arch strings of the predictor's search space (``space=``, NB201 by default) or,
for an enumerable space, its indices; ``y`` are the metric values in the dataset's unit (seconds
for latency). Target transforms (log, standardise) happen inside ``fit`` and are undone in
``predict``: callers never see them. Presets: :mod:`eagle.predictors.presets`; inputs:
:mod:`eagle.predictors.features`; the training loop: :mod:`eagle.predictors.loop`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from eagle import progress, spaces
from eagle.errors import EagleError, UsageError
from eagle.predictors.base import NotFittedError, fitted_archs
from eagle.predictors.features import OpCostFeature, graph_inputs
from eagle.predictors.loop import train_member
from eagle.predictors.presets import PREDICT_CHUNK, PRESETS
from eagle.spaces.base import Archs, SearchSpace, take_archs
from eagle.threads import limited_threads

__all__ = ["MLP", "PRESETS", "NeuralPredictor"]


class MLP:
    """Module factory for the MLP predictor: flattened features + adjacency (+ globals)."""

    @staticmethod
    def make(config: dict[str, Any], n_in: int) -> Any:
        from torch import nn

        layers: list[nn.Module] = []
        d = n_in
        for _ in range(int(config["layers"])):
            layers += [nn.Linear(d, config["hidden"]), nn.LayerNorm(config["hidden"]), nn.ReLU()]
            layers.append(nn.Dropout(float(config["dropout"])))
            d = config["hidden"]
        layers.append(nn.Linear(d, 1))
        return nn.Sequential(*layers)


class NeuralPredictor:
    """GCN or MLP predictor over one search space; see :mod:`eagle.predictors.presets`."""

    def __init__(
        self,
        kind: str = "gcn",
        *,
        preset: str = "eagle",
        seed: int = 0,
        threads: int | None = None,
        space: str | SearchSpace | None = None,
        **overrides: Any,
    ) -> None:
        if kind not in PRESETS:
            raise UsageError(f"unknown neural predictor {kind!r}; valid: {', '.join(PRESETS)}")
        if preset not in PRESETS[kind]:
            raise UsageError(f"unknown preset {preset!r} for {kind}; valid: {', '.join(PRESETS[kind])}")
        unknown = set(overrides) - set(PRESETS[kind][preset])
        if unknown:
            raise UsageError(
                f"unknown hyper-parameter(s) {sorted(unknown)} for {kind}; valid: {', '.join(PRESETS[kind][preset])}"
            )
        from eagle.schemas import NeuralHyperParameters, validate

        self.kind = kind
        self.preset = preset
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise UsageError(f"seed must be a whole number >= 0, got {seed!r}")
        self.seed = int(seed)
        #: compute threads for fit/predict (None: eagle.threads.default_threads(), i.e. 1 unless asked)
        self.threads = threads
        self.space = spaces.resolve(space)
        self.config: dict[str, Any] = {**PRESETS[kind][preset], **overrides}
        validate(NeuralHyperParameters, self.config, f"{kind} hyper-parameters")
        if self.config["encoding"] not in self.space.encodings:
            if "encoding" in overrides and self.config["encoding"] not in ("seed", "eagle"):
                self.space.check_encoding(self.config["encoding"])  # raises, naming the valid ones
            self.config["encoding"] = self.space.encodings[0]  # NB201's names on another space: its default
        self.models_: list[Any] | None = None
        self.target_mean_: float = 0.0
        self.target_std_: float = 1.0
        self.train_seconds_: float = 0.0
        self.prior_features_: np.ndarray | None = None  # (space size, r) extra global inputs
        self.prior_devices_: list[str] = []
        self.op_cost_: OpCostFeature | None = None

    @property
    def op_cost_model_(self) -> str:
        return self.op_cost_.model if self.op_cost_ is not None else ""

    # -- data ---------------------------------------------------------------------------------
    def _tensors(self, archs: Archs) -> tuple[Any, Any, Any]:
        import torch

        enc = graph_inputs(self.space, archs, self.config["encoding"], self.config["adjacency"])
        parts = [enc.globals]
        if self.prior_features_ is not None:
            parts.append(self.prior_features_[self.space.indices(archs)])
        if self.op_cost_ is not None:
            parts.append(self.op_cost_.values(self.space, archs))
        glob = np.hstack(parts) if len(parts) > 1 else enc.globals
        dtype = torch.float64 if self.config["dtype"] == "float64" else torch.float32
        return (
            torch.from_numpy(np.ascontiguousarray(enc.adjacency)).to(dtype),
            torch.from_numpy(np.ascontiguousarray(enc.nodes)).to(dtype),
            torch.from_numpy(np.ascontiguousarray(glob)).to(dtype),
        )

    def _forward(self, model: Any, a: Any, x: Any, g: Any) -> Any:
        if self.config["model"] == "mlp":
            import torch

            return model(torch.cat([x.flatten(1), a.flatten(1), g], dim=1)).squeeze(-1)
        return model(a, x, g)

    def _transform(self, y: np.ndarray) -> np.ndarray:
        return np.log(y) if self.config["target"] == "log" else y

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.config["target"] == "log" else z

    def _example(self) -> list[str]:
        return [self.space.arch_at(0)] if self.space.enumerable else self.space.sample(1, np.random.default_rng(0))

    def _build(self) -> Any:
        from eagle.predictors.gcn import make_gcn

        a, x, g = self._tensors(self._example())
        n_global = g.shape[1]
        if self.config["model"] == "mlp":
            model = MLP.make(self.config, x.shape[1] * x.shape[2] + a.shape[1] * a.shape[2] + n_global)
        else:
            model = make_gcn(self.config, x.shape[2], n_global)
        if self.config["dtype"] == "float64":
            model = model.double()
        return model

    # -- estimator API ------------------------------------------------------------------------------
    def fit(
        self,
        archs: Archs,
        y: ArrayLike,
        *,
        validation: tuple[Any, Any] | None = None,
        init: NeuralPredictor | None = None,
        reset_head: bool = False,
    ) -> NeuralPredictor:
        """Train on ``archs`` with targets ``y``; returns self.

        ``init``: start every ensemble member from that fitted predictor's weights (same
        architecture); ``reset_head`` re-initialises the final layer (the seed's ``--transfer``).
        """
        import torch

        keys = self._archs(archs)
        y = np.asarray(y, dtype=np.float64)
        if len(keys) != len(y):
            raise EagleError(f"fit got {len(keys)} archs but {len(y)} targets")
        if len(keys) < 2:
            raise EagleError("fit needs at least 2 measured archs")
        if self.config["target"] == "log" and (y <= 0).any():
            raise EagleError("log-target training needs positive values")
        if init is not None and init.space.name != self.space.name:
            raise EagleError(f"--init was trained on {init.space.name}, not {self.space.name}")
        t0 = time.perf_counter()
        # the inputs learned from the measurements see every measured arch (validation ones too)
        seen, seen_y = keys, y
        if validation is not None:
            seen = _concat(keys, self._archs(validation[0]))
            seen_y = np.concatenate([y, np.asarray(validation[1], dtype=np.float64)])
        self.trained_on_ = fitted_archs(self.space, seen)
        self._set_prior(init, seen, seen_y)
        self._set_op_cost_feature(init, seen, seen_y)
        rng = np.random.default_rng(self.seed)
        if validation is None and self.config["validation_fraction"] > 0 and len(keys) >= 20:
            perm = rng.permutation(len(keys))
            n_val = max(1, round(len(keys) * self.config["validation_fraction"]))
            val_archs, val_y = take_archs(keys, perm[:n_val]), y[perm[:n_val]]
            keys, y = take_archs(keys, perm[n_val:]), y[perm[n_val:]]
        elif validation is not None:
            val_archs, val_y = self._archs(validation[0]), np.asarray(validation[1], dtype=np.float64)
        else:
            val_archs, val_y = None, None
        z = self._transform(y)
        normalise = self.config["target"] == "log"
        self.target_mean_ = float(z.mean()) if normalise else 0.0
        self.target_std_ = float(z.std()) or 1.0 if normalise else 1.0
        zn = (z - self.target_mean_) / self.target_std_
        tensors = self._tensors(keys)
        dtype = tensors[0].dtype
        target = torch.tensor(zn, dtype=dtype)
        val = None
        if val_archs is not None and val_y is not None:
            vz = (self._transform(val_y) - self.target_mean_) / self.target_std_
            val = (self._tensors(val_archs), torch.tensor(vz, dtype=dtype))
        self.models_ = []
        members, epochs = int(self.config["ensemble"]), int(self.config["epochs"])
        with limited_threads(self.threads), progress.bar(members * epochs, f"training {self.kind}", "epoch") as bar:
            for member in range(members):
                torch.manual_seed(self.seed * 1000 + member)
                start = None
                if init is not None:
                    if init.models_ is None or init.config["model"] != self.config["model"]:
                        raise EagleError("--init needs a fitted checkpoint of the same predictor kind")
                    start = init.models_[member % len(init.models_)].state_dict()
                rng = np.random.default_rng([self.seed, member])
                self.models_.append(
                    train_member(self, self._build(), tensors, target, val, rng, start, reset_head, bar)
                )
        self.train_seconds_ = time.perf_counter() - t0
        return self

    def _archs(self, archs: Archs) -> Archs:
        """Enumerable spaces work on indices (the dense fast path); others on keys."""
        if self.space.enumerable:
            return self.space.indices(archs)
        return self.space.keys(archs)

    def _set_prior(self, init: NeuralPredictor | None, archs: Archs, y: np.ndarray) -> None:
        """Arch prior features: the init checkpoint's (its weights expect them), else per config."""
        if init is not None:
            self.prior_features_, self.prior_devices_ = init.prior_features_, list(init.prior_devices_)
            self.config["prior"] = init.config.get("prior") if init.prior_features_ is not None else None
            return
        prior = self.config["prior"]
        if prior is None:
            self.prior_features_, self.prior_devices_ = None, []
            return
        if prior != "bundled":
            raise EagleError(f"unknown arch prior {prior!r}; valid: bundled, or None for none")
        from eagle.predictors.prior import prior_features

        # the datasets equal to the measured data are judged on all of it
        found = prior_features(self.space, int(self.config["prior_rank"]), self.config["prior_exclude"], archs, y)
        if found is None:  # the space has no bundled latency datasets to learn a prior from
            self.config["prior"] = None
            self.prior_features_, self.prior_devices_ = None, []
        else:
            self.prior_features_, self.prior_devices_ = found

    def _set_op_cost_feature(self, init: NeuralPredictor | None, archs: Archs, y: np.ndarray) -> None:
        """The op-cost model's standardised log latency of every arch, fitted to this training data.

        With ``init`` it follows the init checkpoint (its weights expect the input or not), but is
        always refitted to the data at hand: it describes the device being trained on.
        """
        if init is not None:
            self.config["op_costs"] = init.op_cost_ is not None
        self.op_cost_ = OpCostFeature.fit(self.space, archs, y) if self.config["op_costs"] else None

    def _member_outputs(self, archs: Archs) -> np.ndarray:
        import torch

        if self.models_ is None:
            raise NotFittedError(f"this {self.kind} predictor is not fitted yet: call fit() or load a checkpoint")
        a, x, g = self._tensors(self._archs(archs))
        outs = np.zeros((len(self.models_), len(g)))
        with torch.no_grad(), limited_threads(self.threads):
            # chunks that stay in cache: all 15625 NB201 archs at once is 4x slower (memory-bound)
            for start in range(0, len(g), PREDICT_CHUNK):
                part = slice(start, start + PREDICT_CHUNK)
                for i, model in enumerate(self.models_):
                    outs[i, part] = self._forward(model, a[part], x[part], g[part]).double().numpy()
        return outs * self.target_std_ + self.target_mean_

    def predict(self, archs: Archs) -> np.ndarray:
        """Predictions in the training targets' unit, one per arch (ensemble mean in target space)."""
        return self._inverse(self._member_outputs(archs).mean(axis=0))

    def predict_spread(self, archs: Archs) -> np.ndarray | None:
        """Ensemble disagreement per arch in the prediction's unit (None for a single model)."""
        z = self._member_outputs(archs)
        if len(z) < 2:
            return None
        if self.config["target"] == "log":
            return self._inverse(z.mean(axis=0)) * z.std(axis=0, ddof=1)
        return z.std(axis=0, ddof=1)

    # -- checkpoints -----------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(JSON-able config, tensor state dict) for a checkpoint."""
        if self.models_ is None:
            raise NotFittedError(f"cannot save an unfitted {self.kind} predictor: call fit() first")
        config = {
            "kind": self.kind,
            "preset": self.preset,
            "seed": self.seed,
            "space": spaces.spec(self.space),
            "config": self.config,
            "target_mean": self.target_mean_,
            "target_std": self.target_std_,
            "prior_devices": self.prior_devices_,
            "op_cost_model": self.op_cost_model_,
        }
        import torch

        tensors = {f"m{i}.{k}": v for i, m in enumerate(self.models_) for k, v in m.state_dict().items()}
        if self.prior_features_ is not None:
            tensors["prior_features"] = torch.from_numpy(np.array(self.prior_features_))
        if self.op_cost_ is not None:
            for name, values in self.op_cost_.arrays().items():
                tensors[name] = torch.from_numpy(np.array(values))
        return config, tensors

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, Any]) -> NeuralPredictor:
        obj = cls(
            config["kind"],
            preset=config["preset"],
            seed=config["seed"],
            space=config.get("space", "nasbench201"),  # checkpoints from before spaces were plug-ins
            **config["config"],
        )
        obj.target_mean_ = float(config["target_mean"])
        obj.target_std_ = float(config["target_std"])
        if "prior_features" in tensors:
            obj.prior_features_ = tensors["prior_features"].numpy().astype(np.float32)
            obj.prior_devices_ = list(config.get("prior_devices", []))
        else:  # trained without the prior (or saved before Eagle had one)
            obj.config["prior"] = None
        arrays: dict[str, np.ndarray] = {
            k: tensors[k].numpy() for k in ("op_cost_feature", "op_cost_coef") if k in tensors
        }
        obj.op_cost_ = OpCostFeature.from_arrays(str(config.get("op_cost_model", "")), arrays)
        if obj.op_cost_ is None:  # trained without it (or saved before Eagle had it)
            obj.config["op_costs"] = False
        obj.models_ = []
        for i in range(int(obj.config["ensemble"])):
            model = obj._build()
            prefix = f"m{i}."
            model.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
            model.eval()
            obj.models_.append(model)
        return obj


def _concat(a: Archs, b: Archs) -> Archs:
    if isinstance(a, np.ndarray):
        return np.concatenate([a, np.asarray(b, dtype=np.int64)])
    return [*a, *b]
