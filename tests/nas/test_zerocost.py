"""#37: zero-cost proxies and their use in search."""

from __future__ import annotations

import numpy as np
import pytest

from eagle import spaces, zerocost
from eagle.nas.search import proxy_rank, search
from tests.hardening.conftest import run_cli


@pytest.fixture(scope="module")
def nb201():
    return spaces.get("nasbench201")


def test_proxies_are_deterministic_and_tell_networks_apart(nb201):
    a = zerocost.network_scores(nb201, 1)
    assert a == zerocost.network_scores(nb201, 1)  # seeded
    b = zerocost.network_scores(nb201, 5000)
    assert set(a) == set(zerocost.NAMES) and all(np.isfinite(v) for v in a.values())
    assert any(a[n] != b[n] for n in zerocost.NAMES)


def test_a_cell_with_no_path_to_the_output_scores_lowest(nb201):
    dead = next(i for i in range(nb201.size) if not nb201.is_valid(i))
    assert np.isnan(zerocost.network_scores(nb201, dead, ["synflow"])["synflow"])  # no score: ranked last


def test_one_computation_per_class(nb201, monkeypatch):
    calls = []
    real = zerocost.network_scores
    monkeypatch.setattr(
        zerocost, "network_scores", lambda sp, k, names, seed: calls.append(k) or real(sp, k, names, seed)
    )
    a = "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|skip_connect~2|"
    b = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    out = zerocost.compute(nb201, [a, b], ["synflow"])
    assert len(calls) == 1 and out["synflow"][0] == out["synflow"][1]


def test_proxies_for_a_space_without_bundled_ones_are_computed_once_and_cached(user_data_dir, monkeypatch):
    fbnet = spaces.get("fbnet")
    keys = fbnet.keys(fbnet.sample(2, np.random.default_rng(0)))
    assert not zerocost.cached(fbnet, keys, ["synflow"])
    first = zerocost.proxy_table(fbnet, keys, ["synflow"])
    assert zerocost.cached(fbnet, keys, ["synflow"])
    monkeypatch.setattr(zerocost, "compute", lambda *a, **k: pytest.fail("recomputed a cached proxy"))
    again = zerocost.proxy_table(fbnet, keys, ["synflow"])
    np.testing.assert_array_equal(first["synflow"], again["synflow"])
    from eagle import datasets

    assert "proxy/fbnet-synflow" in datasets.names()


@pytest.fixture
def user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_graph_features_of_nb201_count_live_paths(nb201):
    full = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    skip = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    f = nb201.graph_features([full, skip])
    assert f.shape == (2, 9)
    assert f[0, 0] == 4 and f[0, 3] == 4 and f[0, 5] == 3  # 4 live paths, all with 3x3 convs, the longest has 3
    assert f[1, 0] == 1 and f[1, 1] == 1 and f[1, 7] == 1  # one live path: a skip, a shortcut


def test_proxy_rank_prefers_the_higher_score_on_every_proxy():
    proxies = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0], [0.0, 0.0]])
    r = proxy_rank(proxies, np.array([0, 1, 2]))
    assert r[2] > r[1] > r[0] and r[3] == -1


def test_brp_warms_up_on_the_proxies_best_archs():
    """With proxies the first picks are the proxies' best, not chance."""
    rng = np.random.default_rng(0)
    acc = rng.random(200) * 100
    cands = np.arange(200)
    proxies = acc[:, None] + rng.normal(0, 1, (200, 2))  # proxies that know the accuracy
    res = search("brp", cands, acc, budget=10, iterations=2, seed=0, proxies=proxies, ensemble=1, space="nasbench201")
    first = res.queried[:5]
    assert set(first) <= set(np.argsort(-acc)[:15].tolist())
    plain = search("brp", cands, acc, budget=10, iterations=2, seed=0, ensemble=1, space="nasbench201")
    assert plain.stats.get("proxies") is False and res.stats["proxies"] is True


def test_proxy_search_needs_no_training():
    acc = np.arange(50, dtype=float)
    res = search("proxy", np.arange(50), acc, budget=5, proxies=np.arange(50, dtype=float)[:, None])
    assert res.queried == [49, 48, 47, 46, 45]


def test_proxy_search_over_fbnet_without_accuracy_says_it_is_a_proxy_search(tmp_path, capsys, user_data_dir):
    out = tmp_path / "trace.txt"
    res = run_cli(capsys, "search", "--space", "fbnet", "--method", "proxy", "--pool", "3", "--budget", "2",
                  "--output", out)  # fmt: skip
    assert res.code == 0, res.err
    assert "PROXY SEARCH" in res.out and "not a measurement" in res.out
    assert len(out.read_text().splitlines()) == 3
    res = run_cli(capsys, "search", "--space", "fbnet", "--output", tmp_path / "t2.txt")
    assert res.code == 2 and "--method proxy" in res.err


def test_public_api_scores_any_network_and_nb201_from_the_bundle(user_data_dir):
    import eagle
    from eagle.errors import UsageError

    nets = ["torchvision:mobilenet_v3_small@3x64x64", "torchvision:resnet18@3x64x64"]
    table = eagle.zero_cost_proxies("models", nets, ["synflow", "naswot"])
    assert set(table) == {"synflow", "naswot"} and all(np.isfinite(v).all() and len(v) == 2 for v in table.values())
    if "nasbench201/proxy-synflow" in eagle.list_datasets():
        bundled = eagle.zero_cost_proxies("nasbench201", [1, 5000], ["synflow"])["synflow"]
        fresh = zerocost.compute(spaces.get("nasbench201"), [1, 5000], ["synflow"])["synflow"]
        np.testing.assert_allclose(bundled, fresh)  # the bundle is what the product computes
    with pytest.raises(UsageError, match="unknown zero-cost proxies"):
        eagle.zero_cost_proxies("nasbench201", [1], ["grad_norm"])


def test_simulate_ranks_nb201_by_its_bundled_proxies_and_refuses_proxy_without_them(tmp_path, capsys):
    from eagle import datasets

    res = run_cli(capsys, "search", "simulate", "--methods", "proxy", "--proxies", "off", "--seeds", "1",
                  "--budget", "5")  # fmt: skip
    assert res.code == 2 and "--proxies off" in res.err
    if "nasbench201/proxy-synflow" not in datasets.names():
        pytest.skip("NB201's proxies are not bundled in this checkout (scripts/build_proxy_datasets.py)")
    out = tmp_path / "sim.json"
    res = run_cli(capsys, "search", "simulate", "--methods", "proxy,random", "--seeds", "2", "--budget", "20",
                  "--json", out)  # fmt: skip
    assert res.code == 0, res.err
    import json

    summary = json.loads(out.read_text())
    assert set(summary["per_seed"]) == {"proxy", "random"} and len(summary["per_seed"]["proxy"]["best"]) == 2
    # the proxies rank the space far better than chance: the proxy search's 20 best beat random's
    assert summary["methods"]["proxy"]["mean_best"] > summary["methods"]["random"]["mean_best"] - 1.0


def test_search_options_a_proxy_search_cannot_use_are_refused(tmp_path, capsys):
    out = tmp_path / "t.txt"
    for extra, says in (
        (["--method", "proxy", "--proxies", "off"], "--proxies off"),
        (["--method", "random", "--transfer", "x.pt"], "--transfer"),
        (["--method", "proxy", "--pool", "5"], "--pool"),
        (["--space", "fbnet", "--accuracy", "nasbench201/cifar100-valid-accuracy"], "holds nasbench201 archs"),
        (["--space", "models", "--method", "proxy"], "zero_cost_proxies"),
        (["--space", "fbnet", "--method", "proxy", "--latency-limit", "0.01"], "--latency-predictor"),
    ):
        res = run_cli(capsys, "search", *extra, "--budget", "2", "--output", out)
        assert res.code == 2 and says in res.err, (extra, res.err)
    res = run_cli(capsys, "search", "simulate", "--methods", "random", "--seeds", "1", "--budget", "5",
                  "--json", tmp_path / "same", "--plot", tmp_path / "same")  # fmt: skip
    assert res.code == 2 and "same file" in res.err
