"""Few-shot variants that were measured and not kept (issue 7), HELP's protocol at k = 10.

Usage:
  .venv/bin/python benchmarks/fewshot_variants.py residual [--scale 1.0] [--lam 0.01] [--all-graph]
  .venv/bin/python benchmarks/fewshot_variants.py synthetic --n 20 [--rank 8] [--synthetic-seed 0]
  .venv/bin/python benchmarks/fewshot_variants.py meta --all-graph [--steps 1500] [--width 8]
  .venv/bin/python benchmarks/fewshot_variants.py tempered [--temperature 0.5]
  .venv/bin/python benchmarks/fewshot_variants.py combination
  .venv/bin/python benchmarks/fewshot_variants.py best-known-device   # an oracle, for scale
  (every variant also takes [--devices NAME,...] [--keep-siblings])

``residual``: the design gains the GCN's global graph features (MACs, params, op counts; with
``--all-graph`` also the one-hot), with a Gaussian prior learned from how each known device
departs from the basis of the others (leave-one-out residuals regressed on the features).
``synthetic``: ``--n`` synthetic lookup-table devices (latency = overhead + sum of random per-op
costs over live or all edges, 1% noise) join the known devices in pretraining, to widen the
basis beyond their span. ``meta``: ``--width`` arch features computed by an MLP from the graph
features and meta-trained (episodes over the known devices, each with its family held out of
the basis) so that Bayesian regression from 10 archs predicts the rest; they join the design
like ``residual``'s features, with their learned prior. ``tempered``: the default model with its
per-device evidence weights raised to a power < 1. ``combination``: regression on all known
devices' latencies at once (see :class:`Combination`). ``best-known-device``: the oracle of
:class:`BestKnownDevice`. All use the same leave-device-family-out
loop, V-optimal selection and test set as fewshot_bench.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))


def graph_features(all_graph: bool) -> np.ndarray:
    from eagle.predictors.encoding import eagle_tables

    g = eagle_tables()[2].astype(np.float64)
    g = g if all_graph else g[:, :13]
    sd = g.std(axis=0)
    return (g - g.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def residual_prior(table: dict[str, np.ndarray], g: np.ndarray, lam: float) -> np.ndarray:
    """Covariance over known devices of their leave-one-out basis residuals regressed on ``g``."""
    from eagle.fewshot import pretrain

    coefs = []
    for d in table:
        basis = pretrain({n: v for n, v in table.items() if n != d})
        v = table[d]
        m = np.isfinite(v) & basis.covered
        x = np.hstack([np.ones((m.sum(), 1)), basis.features[m]])
        y = np.log(v[m])
        r = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
        a = g[m]
        coefs.append(np.linalg.solve(a.T @ a / len(a) + lam * np.eye(a.shape[1]), a.T @ r / len(a)))
    return np.cov(np.array(coefs), rowvar=False)


def fit_with_graph(basis: object, g: np.ndarray, cov_g: np.ndarray, idx: np.ndarray, y: np.ndarray) -> object:
    """FewShotPredictor whose design and prior gain the graph-feature block."""
    from eagle.fewshot import FewShotPredictor
    from eagle.fewshot import model as fm

    class WithGraph(FewShotPredictor):
        def _design(self, device: int, archs: np.ndarray) -> np.ndarray:
            return np.hstack([super()._design(device, archs), g[archs]])

    model = WithGraph(basis)
    r, e = basis.rank, g.shape[1]
    cov0 = np.zeros((r + 2 + e, r + 2 + e))
    cov0[0, 0] = fm.OFFSET_PRIOR_VAR
    cov0[1, 1] = basis.scale_std**2
    cov0[2 : 2 + r, 2 : 2 + r] = basis.correction * basis.prior_cov + 1e-9 * np.eye(r)
    cov0[2 + r :, 2 + r :] = cov_g + 1e-9 * np.eye(e)
    ly = np.log(y)
    comps, evidence = [], []
    for d in range(len(basis.components)):
        x = model._design(d, idx)
        mean0 = np.concatenate([[np.mean(ly - x[:, 1])], [1.0], np.zeros(r + e)])
        ev, noise = max(
            (fm._log_evidence(x, ly, mean0, cov0, basis.noise_var * s), basis.noise_var * s) for s in fm.NOISE_GRID
        )
        mean, cov = fm._posterior(x, ly, mean0, cov0, noise)
        comps.append((d, mean, cov, noise))
        evidence.append(ev)
    w = np.exp(np.asarray(evidence) - max(evidence))
    model.components_, model.weights_ = comps, w / w.sum()
    model.trained_on_, model.values_ = idx, y
    return model


def synthetic_devices(n: int, covered: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    from eagle.predictors.encoding import eagle_tables

    glob = eagle_tables()[2]
    live, every = glob[:, 5:9] * 6, glob[:, 9:13] * 6  # per-op counts: skip, conv1x1, conv3x3, pool
    rng = np.random.default_rng(seed)
    out = {}
    for s in range(n):
        cost = np.exp(rng.uniform(np.log(0.01), np.log(1.0), 4))
        if rng.random() < 0.5:
            cost[2] = 1.0
        overhead = np.exp(rng.uniform(np.log(0.1), np.log(10.0)))
        counts = live if rng.random() < 0.5 else every
        lat = (overhead + counts @ cost) * np.exp(rng.normal(0.0, 0.01, len(counts)))
        out[f"synthetic-{s}"] = np.where(covered, lat, np.nan)
    return out


def meta_features(
    table: dict[str, np.ndarray], names: list[str], g: np.ndarray, k: int, steps: int, width: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Arch features phi(G) meta-trained so that Bayesian regression from k archs predicts a device.

    Episodes: a known device d, its basis learned without d's family (so d is unseen, as at test
    time), k support archs from indices < 900; the design [1, basis, phi] with the basis's
    prior and a learned diagonal prior on phi's coefficients; loss: squared error of the
    posterior mean on 512 query archs. Returns (phi for every arch, prior variances of phi).
    """
    import torch
    from fewshot_bench import siblings

    from eagle.fewshot import pretrain

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    episodes = []
    for d in table:
        basis = pretrain({n: v for n, v in table.items() if n not in siblings(d, names)})
        v = table[d]
        ok = np.isfinite(v) & basis.covered
        y = np.full(len(v), np.nan)
        y[ok] = np.log(v[ok]) - np.log(v[ok]).mean()
        pool = np.flatnonzero(ok[:900])
        every = np.flatnonzero(ok)
        cov = basis.correction * basis.prior_cov
        episodes.append((torch.tensor(basis.features), torch.tensor(cov), torch.tensor(y), pool, every))
    gt = torch.tensor(g, dtype=torch.float64)
    net = torch.nn.Sequential(
        torch.nn.Linear(g.shape[1], 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, width),
    ).double()
    log_s = torch.nn.Parameter(torch.full((width,), -2.0, dtype=torch.float64))
    log_noise = torch.nn.Parameter(torch.tensor(np.log(0.01), dtype=torch.float64))
    opt = torch.optim.Adam([*net.parameters(), log_s, log_noise], lr=3e-3)
    for _ in range(steps):
        loss = 0.0
        for e in rng.choice(len(episodes), 8):
            feats, cov, y, pool, every = episodes[e]
            sup = torch.tensor(rng.choice(pool, k, replace=False))
            qry = torch.tensor(rng.choice(every, 512, replace=False))
            idx = torch.cat([sup, qry])
            phi = net(gt[idx])
            x = torch.cat([torch.ones(len(idx), 1, dtype=torch.float64), feats[idx], phi], dim=1)
            r = feats.shape[1]
            c0 = torch.block_diag(torch.tensor([[100.0]], dtype=torch.float64), cov, torch.diag(torch.exp(2 * log_s)))
            xs, ys = x[:k], y[sup]
            m0 = torch.zeros(1 + r + width, dtype=torch.float64)
            m0[0] = ys.mean()
            gram = xs @ c0 @ xs.T + torch.exp(log_noise) * torch.eye(k, dtype=torch.float64)
            mean = m0 + c0 @ xs.T @ torch.linalg.solve(gram, ys - xs @ m0)
            loss = loss + torch.mean((x[k:] @ mean - y[qry]) ** 2)
        opt.zero_grad()
        (loss / 8).backward()
        opt.step()
    with torch.no_grad():
        return net(gt).numpy(), torch.exp(2 * log_s).numpy()


def tempered(model: object, temperature: float) -> object:
    """The mixture's device weights raised to ``temperature`` (< 1: leans on more known devices)."""
    ev = np.log(np.maximum(model.weights_, 1e-300))
    w = np.exp(temperature * (ev - ev.max()))
    model.weights_ = w / w.sum()
    return model


class Combination:
    """Bayesian regression of log latency on every known device's (centred) log latency.

    "The new device is a weighted combination of the known ones" instead of "it is like one of
    them": prior weights 1/D each with std tau; tau and the noise chosen by marginal likelihood.
    """

    def __init__(self, basis: object) -> None:
        self.basis = basis

    def _x(self, idx: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(idx), 1)), self.basis.device_latency[idx]])

    def fit(self, idx: np.ndarray, y: np.ndarray) -> Combination:
        from eagle.fewshot import model as fm

        x, ly, n = self._x(idx), np.log(y), self.basis.device_latency.shape[1]
        m0 = np.concatenate([[np.mean(ly)], np.full(n, 1.0 / n)])
        best = max(
            (fm._log_evidence(x, ly, m0, c0, nv), tau, nv)
            for tau in (0.03, 0.1, 0.3, 1.0)
            for c0 in [np.diag([fm.OFFSET_PRIOR_VAR] + [tau**2] * n)]
            for nv in (self.basis.noise_var * g for g in fm.NOISE_GRID)
        )
        _, tau, nv = best
        self.coef, _ = fm._posterior(x, ly, m0, np.diag([fm.OFFSET_PRIOR_VAR] + [tau**2] * n), nv)
        return self

    def predict(self, idx: np.ndarray) -> np.ndarray:
        return np.exp(self._x(idx) @ self.coef)


class BestKnownDevice:
    """Oracle, not a method: the known device whose latencies rank the test set best, picked
    with the test labels. What "it is like one known device" can reach at most."""

    def __init__(self, basis: object, te: np.ndarray, truth: np.ndarray) -> None:
        from scipy.stats import spearmanr

        lat = basis.device_latency
        self.column = max(range(lat.shape[1]), key=lambda d: spearmanr(lat[te, d], truth).statistic)
        self.basis = basis

    def predict(self, idx: np.ndarray) -> np.ndarray:
        return np.exp(self.basis.device_latency[idx, self.column])


def main() -> None:
    from fewshot_bench import help_test_set, shared_devices, siblings
    from scipy.stats import spearmanr

    import eagle.datasets as D
    from eagle.fewshot import FewShotPredictor, pretrain, select_archs

    p = argparse.ArgumentParser()
    p.add_argument("variant", choices=("residual", "synthetic", "meta", "tempered", "combination", "best-known-device"))
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--keep-siblings", action="store_true")
    p.add_argument("--devices", default="all")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--lam", type=float, default=0.01)
    p.add_argument("--all-graph", action="store_true")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--synthetic-seed", type=int, default=0)
    args = p.parse_args()
    names = shared_devices()
    tests = names if args.devices == "all" else args.devices.split(",")
    values = {n: D.load(n).by_index("s") for n in dict.fromkeys([*names, *tests])}  # tests may be unseen ones
    g = graph_features(args.all_graph)
    synth = (
        synthetic_devices(args.n, np.isfinite(values["help/1080ti_1"]), args.synthetic_seed)
        if args.variant == "synthetic"
        else {}
    )
    rhos = []
    for test in tests:
        excluded = {test} if args.keep_siblings else siblings(test, names)
        table = {n: values[n] for n in names if n not in excluded}
        basis = pretrain({**table, **synth}, rank=args.rank)
        v = values[test]
        te = help_test_set(v)
        few = np.array(select_archs(basis, 10, candidates=np.flatnonzero(np.isfinite(v[:900]) & basis.covered[:900])))
        if args.variant == "tempered":
            model = tempered(FewShotPredictor(basis).fit(few, v[few]), args.temperature)
        elif args.variant == "best-known-device":
            model = BestKnownDevice(basis, te, v[te])
        elif args.variant == "combination":
            model = Combination(basis).fit(few, v[few])
        elif args.variant == "meta":
            phi, s2 = meta_features(table, names, g, 10, args.steps, args.width, 0)
            model = fit_with_graph(basis, phi, np.diag(s2), few, v[few])
        elif args.variant == "residual":
            model = fit_with_graph(basis, g, args.scale * residual_prior(table, g, args.lam), few, v[few])
        else:
            model = FewShotPredictor(basis).fit(few, v[few])
        rhos.append(spearmanr(model.predict(te), v[te]).statistic)
        print(f"{test:45s} k=10: {rhos[-1]:.4f}", flush=True)
    print(f"k=10: mean {np.mean(rhos):.4f} min {np.min(rhos):.4f}")


if __name__ == "__main__":
    main()
