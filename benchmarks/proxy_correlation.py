"""How well NB201's bundled zero-cost proxies rank its archs (issue 37): Spearman of each proxy,
and of the mean of their ranks (what ``eagle search --method proxy`` and BRP's warm-up use),
against the validation accuracy of every valid arch (15284) on CIFAR-10, CIFAR-100 and
ImageNet16-120.

    .venv/bin/python benchmarks/proxy_correlation.py
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from eagle import datasets, spaces, zerocost


def main() -> None:
    space = spaces.get("nasbench201")
    valid = space.valid_mask()
    table = {name: datasets.load(f"nasbench201/proxy-{name}").by_index() for name in zerocost.NAMES}
    print("| accuracy | " + " | ".join(zerocost.NAMES) + " | mean of the ranks | archs |")
    print("| --- |" + " --- |" * (len(zerocost.NAMES) + 2))
    for name in ("cifar10", "cifar100", "imagenet16-120"):
        acc = datasets.load(f"nasbench201/{name}-valid-accuracy").by_index()
        ok = valid & np.isfinite(acc)
        cells = [f"{spearmanr(v[ok], acc[ok]).statistic:.3f}" for v in table.values()]
        combined = zerocost.combined_rank({n: v[ok] for n, v in table.items()})
        cells.append(f"{spearmanr(combined, acc[ok]).statistic:.3f}")
        print(f"| {name} | " + " | ".join(cells) + f" | {int(ok.sum())} |")
    # what BRP's warm-up sees: the proxies' ten best-ranked archs, and where the best arch ranks
    cands = np.nonzero(valid)[0]
    rank = zerocost.combined_rank({n: v[cands] for n, v in table.items()})
    acc = datasets.load("nasbench201/cifar100-valid-accuracy").by_index()
    print("\nthe proxies' ten best-ranked archs (CIFAR-100 validation accuracy):")
    for i in cands[np.argsort(-rank)[:10]]:
        print(f"  {space.arch_at(int(i))} {acc[i]:.2f}")
    for name in ("cifar10", "cifar100", "imagenet16-120"):
        acc = datasets.load(f"nasbench201/{name}-valid-accuracy").by_index()
        best = int(np.nanargmax(np.where(valid, acc, np.nan)))
        place = int((rank > rank[np.searchsorted(cands, best)]).sum()) + 1
        print(f"{name}: the best arch ({acc[best]:.2f}) ranks {place} of {len(cands)} by the proxies")


if __name__ == "__main__":
    main()
