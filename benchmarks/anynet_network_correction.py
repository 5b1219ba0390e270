"""Can whole-network measurements teach the kernel model how kernels behave inside a network?

    .venv/bin/python benchmarks/anynet_network_correction.py --kernels K.pt --profiles P0.jsonl,P1.jsonl \\
        [--dataset eagle-cpu/anynet-variants-onnxruntime-fp32-t1]

The kernel model predicts each kernel as it ran in a small profiled sample; inside a network the
same kernel runs 4-52% faster or slower by family (``anynet_profiler_gap.py``). This fits a
correction on measured whole networks: each kernel's prediction times ``exp(z . beta)`` (z: the
kernel type one-hot, alone or with its log predicted time, the network's log weight bytes and the
kernel's own), summed, plus a per-run constant; least squares on log latency with a soft-L1 loss.
Scored leave-one-family-out (the correction fitted on the other ten families: how it would do on
a user's network of a family it has not seen), in sample (fitted on every family: the most a
correction of that form can do), and within a family (per type, fitted on 5 or 10 seeded
networks of the family and scored on its others: a user who measured a few of their own).
Writes ``benchmarks/results/anynet_network_correction.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from anynet_bench import analysis_parser, load_profiles, metrics, profiled_dataset
from scipy.optimize import least_squares

from eagle.anynet.kernels import kernel_features, kernel_type
from eagle.anynet.kernels.model import KernelModel, weight_numel

OUT = Path(__file__).resolve().parent / "results" / "anynet_network_correction.json"


def kernel_rows(model: KernelModel, kernels: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted seconds, network index, covariates) of every kernel of every network."""
    types = sorted(model.counts_)
    pred, net, cov = [], [], []
    for i, ks in enumerate(kernels):
        log_w = np.log1p(4.0 * sum(weight_numel(k) for k in ks))
        for p, k in zip(model.predict_kernels(ks), ks):
            one_hot = np.zeros(len(types))
            one_hot[types.index(kernel_type(k)) if kernel_type(k) in types else 0] = 1
            pred.append(p)
            net.append(i)
            cov.append([*one_hot, np.log(p) + 10, log_w / 10, kernel_features(k)[4] / 10])
    return np.array(pred), np.array(net), np.array(cov)


def corrected(theta: np.ndarray, pred: np.ndarray, net: np.ndarray, z: np.ndarray, n_nets: int) -> np.ndarray:
    return np.bincount(net, weights=pred * np.exp(z @ theta[:-1]), minlength=n_nets) + theta[-1] * 1e-4


def fit(
    pred: np.ndarray,
    net: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    penalty: np.ndarray | None = None,
) -> np.ndarray:
    """The correction's coefficients (then the constant); ``penalty`` per coefficient: a ridge
    pulling it towards no correction (for fits on a handful of networks)."""

    def residual(theta: np.ndarray) -> np.ndarray:
        r = (np.log(np.maximum(corrected(theta, pred, net, z, len(y)), 1e-7)) - np.log(y))[train]
        return r if penalty is None else np.concatenate([r, penalty * theta[:-1]])

    return least_squares(residual, np.zeros(z.shape[1] + 1), loss="soft_l1", f_scale=0.05).x


def same_family(
    model: KernelModel, kernels: list, y: np.ndarray, families: np.ndarray, k: int, seed: int = 0
) -> np.ndarray:
    """Each family's networks predicted by the kernel model calibrated (``KernelModel.calibrate``,
    what ``eagle kernels calibrate`` runs) on ``k`` others of that family: a user who measured a few
    networks of the family. NaN for the calibration networks."""
    out = np.full(len(y), np.nan)
    for fam in sorted(set(families)):
        members = np.flatnonzero(families == fam)
        chosen = np.random.default_rng(seed).choice(members, k, replace=False)
        calibrated = model.calibrate([kernels[i] for i in chosen], y[chosen])
        for i in np.setdiff1d(members, chosen):
            out[i] = calibrated.predict(kernels[i])
    return out


def main() -> None:
    args = analysis_parser(__doc__, OUT).parse_args()
    model = KernelModel.load(args.kernels)
    profiles = load_profiles([Path(p) for p in args.profiles.split(",")])
    _, y, families, kernels = profiled_dataset(args.dataset, profiles)
    pred, net, cov = kernel_rows(model, kernels)
    n_types = len(model.counts_)
    forms = {"type": cov[:, :n_types], "type + log time + weights": cov}
    report: dict = {
        "dataset": args.dataset,
        "kernels": str(args.kernels),
        "uncorrected": metrics(np.array([model.predict(ks) for ks in kernels]), y),
        "forms": {},
    }
    print("uncorrected", json.dumps(report["uncorrected"]))
    for name, z in forms.items():
        out = np.zeros(len(y))
        for fam in sorted(set(families)):
            out[families == fam] = corrected(fit(pred, net, z, y, families != fam), pred, net, z, len(y))[
                families == fam
            ]
        everything = corrected(fit(pred, net, z, y, np.ones(len(y), bool)), pred, net, z, len(y))
        report["forms"][name] = {
            "leave_one_family_out": metrics(out, y),
            "per_family_within_10pct": {
                f: metrics(out[families == f], y[families == f])["within_10pct"] for f in sorted(set(families))
            },
            "in_sample": metrics(everything, y),
        }
        print(name, json.dumps({k: v for k, v in report["forms"][name].items()}))
    report["same_family"] = {}
    for k in (5, 10):
        out = same_family(model, kernels, y, families, k)
        m = np.isfinite(out)
        report["same_family"][str(k)] = {
            "all": metrics(out[m], y[m]),
            "per_family_within_10pct": {
                f: metrics(out[m & (families == f)], y[m & (families == f)])["within_10pct"]
                for f in sorted(set(families))
            },
            "uncorrected_on_the_same_networks": metrics(
                np.array([model.predict(kernels[i]) for i in np.flatnonzero(m)]), y[m]
            ),
        }
        print(f"same family, {k} calibration networks", json.dumps(report["same_family"][str(k)]))
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
