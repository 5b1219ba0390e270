"""NAS: the BRP comparator/ranking, iterative selection, baselines, traces and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import eagle.datasets as D
from eagle.cli.main import main
from eagle.errors import EagleError
from eagle.nas.brp import BinaryRelationPredictor
from eagle.nas.search import _iteration_sizes, search
from eagle.spaces import get

SPACE = get("nasbench201")
ACC = D.load("nasbench201/cifar100-valid-accuracy").by_index()
VALID = np.nonzero(SPACE.valid_mask())[0]


@pytest.mark.parametrize("head", ["twoway", "oneway"])
def test_brp_scores_agree_with_the_symmetrised_comparator_and_learn(head):
    rng = np.random.default_rng(0)
    train = rng.choice(VALID, 40, replace=False)
    brp = BinaryRelationPredictor(head=head, epochs=15, seed=0).fit(train, ACC[train] / 100)
    test = rng.choice(VALID, 200, replace=False)
    s = brp.scores(test)
    for i, j in rng.choice(len(test), size=(20, 2)):
        if i == j:
            continue
        p = brp.prefers(int(test[i]), int(test[j]))
        assert (p > 0.5) == (s[i] > s[j]) or abs(p - 0.5) < 1e-6
    from scipy import stats

    assert stats.spearmanr(s, ACC[test]).statistic > 0.3


def test_iteration_sizes_add_up():
    assert _iteration_sizes(100, 5) == [20, 20, 20, 20, 20]
    assert sum(_iteration_sizes(101, 4)) == 101


@pytest.mark.parametrize("method", ["random", "evolution", "gcn", "brp"])
def test_every_method_queries_distinct_valid_candidates(method):
    cands = VALID[::4]
    res = search(method, cands, ACC, budget=30, iterations=3, seed=1)
    assert len(res.queried) == 30 and len(set(res.queried)) == 30
    assert set(res.queried) <= set(cands.tolist())
    assert res.trace[:30] == res.queried and sorted(res.trace) == sorted(cands.tolist())


@pytest.mark.parametrize("exploit", [1.0, 0.5])
def test_exploit_share_of_each_iteration_comes_from_the_top_ranked(exploit):
    """With an oracle ranking, the exploited picks are exactly the best untrained archs."""
    from eagle.nas.search import iterative_search

    cands = VALID[::4]
    res = iterative_search(
        cands,
        ACC,
        budget=40,
        iterations=4,
        seed=0,
        make_model=dict,
        fit=lambda *a: None,
        score=lambda _m, c: ACC[c],
        exploit=exploit,
    )
    ranked = [int(c) for c in cands[np.argsort(-ACC[cands], kind="stable")]]
    taken = set(res.queried[:10])
    for it in range(1, 4):
        picks = res.queried[10 * it : 10 * it + 10]
        n_best = round(10 * exploit)
        assert picks[:n_best] == [c for c in ranked if c not in taken][:n_best]
        taken.update(picks)
    with pytest.raises(EagleError, match="between 0 and 1"):
        search("brp", cands, ACC, budget=20, iterations=2, exploit=1.5)


def test_brp_ensemble_runs():
    res = search("brp", VALID[::8], ACC, budget=20, iterations=2, seed=3, ensemble=2, epochs=5)
    assert len(set(res.queried)) == 20
    with pytest.raises(EagleError, match="at least 1 BRP"):
        search("brp", VALID[::8], ACC, budget=20, iterations=2, ensemble=0)


def test_search_is_reproducible_given_seed():
    a = search("brp", VALID[::8], ACC, budget=20, iterations=2, seed=3)
    b = search("brp", VALID[::8], ACC, budget=20, iterations=2, seed=3)
    assert a.queried == b.queried


def test_bad_arguments():
    with pytest.raises(EagleError, match="unknown search method"):
        search("hyperband", VALID, ACC)
    with pytest.raises(EagleError, match="budget"):
        search("random", VALID[:10], ACC, budget=50)


def test_cli_search_with_latency_constraint(tmp_path, capsys):
    trace, log = tmp_path / "t.txt", tmp_path / "l.txt"
    limit = "0.004"
    assert (
        main(
            [
                "search",
                "--model",
                "nasbench201",
                "--accuracy",
                "nasbench201/cifar100-valid-accuracy",
                "--method",
                "brp",
                "--budget",
                "20",
                "--iterations",
                "2",
                "--seed",
                "0",
                "--latency",
                "desktop-cpu-core-i7-7820x-fp32",
                "--latency-limit",
                limit,
                "--output",
                str(trace),
                "--log",
                str(log),
            ]
        )
        == 0
    )
    assert "0 trained models violated" in capsys.readouterr().out
    lines = trace.read_text().splitlines()
    first = [SPACE.index(s) for s in lines[:20]]
    assert len(set(first)) == 20 and all(SPACE.is_valid(i) for i in first)
    lat = D.load("desktop-cpu-core-i7-7820x-fp32").by_index("s")
    assert all(lat[SPACE.index(s)] <= float(limit) for s in lines)
    text = log.read_text().split("---\n")
    assert len(text) == 3 and len(text[0].splitlines()) == 20 and "candidates" in text[2]


def test_cli_simulate(tmp_path, capsys):
    png = tmp_path / "c.png"
    assert (
        main(
            [
                "search",
                "simulate",
                "--methods",
                "random,evolution",
                "--seeds",
                "2",
                "--budget",
                "20",
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    assert "mean_best" in capsys.readouterr().out and png.read_bytes()[:4] == b"\x89PNG"
