"""The PyTorch builder against NB201's parameter counts, the analytic costs and the classes."""

from __future__ import annotations

import random

import pytest
import torch

from eagle.spaces import get
from eagle.spaces.nasbench201.builder import build_model, count_macs, count_parameters
from eagle.spaces.nasbench201.cost import NetworkConfig, network_cost

SPACE = get("nasbench201")

# Parameter count of one cell op in each stage (C = 16, 32, 64; 5 cells per stage).
_CONV1_ALL_STAGES = sum(5 * (c * c + 2 * c) for c in (16, 32, 64))
_CONV3_ALL_STAGES = sum(5 * (9 * c * c + 2 * c) for c in (16, 32, 64))
_SKELETON = network_cost((0,) * 6, deployed=False)[0]
_POSSIBLE_COUNTS = {_SKELETON + a * _CONV1_ALL_STAGES + b * _CONV3_ALL_STAGES for a in range(7) for b in range(7 - a)}


def test_reference_params_equal_nb201_for_every_arch(nb201_table):
    """params_reference == the shared params_cifar10 for every arch whose value is a possible count.

    The shared table (from the NAS-without-training export) holds 204 values that no NB201
    network can have (e.g. a third of a convolution's parameters); for those the test checks
    that the value is indeed impossible, so a builder bug cannot hide among them.
    """
    assert _SKELETON == 73306  # the smallest count in NB201 (all ops none)
    mismatched = []
    for row in nb201_table:
        ours = network_cost(SPACE.vector(row["arch_str"]), deployed=False)[0]
        theirs = int(row["params_cifar10"])
        if ours != theirs:
            mismatched.append(theirs)
    assert all(value not in _POSSIBLE_COUNTS for value in mismatched)
    assert len(mismatched) <= 204
    assert len(nb201_table) - len(mismatched) >= 15421


def _sample(n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = random.Random(seed)
    fixed = [(1,) * 6, (3,) * 6, (4,) * 6, (0,) * 6, (2, 0, 0, 0, 0, 1), (0, 0, 0, 1, 0, 0)]
    return fixed + rng.sample(SPACE.archs(), n)


@pytest.mark.parametrize("mode", ["reference", "pruned", "deployed"])
def test_built_modules_match_analytic_costs(mode):
    for vec in _sample(25):
        model = build_model(vec, mode=mode, calibrate=False)
        assert (count_parameters(model), count_macs(model)) == SPACE.cost(vec, mode=mode), vec


def test_non_default_macro_config_matches_analytic_costs():
    cfg = NetworkConfig(num_classes=100, cells_count=3, stacks_count=2, channels=8, input_size=(24, 24))
    for vec in _sample(5, seed=1):
        model = build_model(
            vec, 100, mode="pruned", cells_count=3, stacks_count=2, channels=8, input_size=(24, 24), calibrate=False
        )
        assert count_parameters(model) == network_cost(vec, cfg)[0]
        assert count_macs(model, (24, 24)) == network_cost(vec, cfg)[1]
        assert model(torch.randn(2, 3, 24, 24)).shape == (2, 100)


def test_reference_model_output_shape_and_nb201_skeleton():
    model = build_model(1, mode="reference")
    assert model(torch.randn(3, 3, 32, 32)).shape == (3, 10)
    assert len(model.cells) == 17  # 3 x 5 cells + 2 reduction blocks
    assert count_parameters(model) == 802426


def test_deployed_networks_identical_within_a_class():
    x = torch.randn(2, 3, 32, 32)
    ids = SPACE.class_ids()
    multi = [cid for cid in range(SPACE.num_classes) if (ids == cid).sum() > 1]
    checked = 0
    for cid in random.Random(0).sample(multi, 25):
        members = [SPACE.archs()[i] for i in (ids == cid).nonzero()[0][:3]]
        outs, states = [], []
        for vec in members:
            m = build_model(vec, mode="deployed", seed=7)
            states.append({k: v.shape for k, v in m.state_dict().items()})
            with torch.no_grad():
                outs.append(m(x))
            assert SPACE.cost(vec, mode="deployed") == SPACE.cost(members[0], mode="deployed")
        assert all(s == states[0] for s in states)
        assert all(torch.equal(o, outs[0]) for o in outs)
        checked += 1
    assert checked >= 20


def test_pruned_members_of_one_class_can_differ_but_deployed_do_not():
    # NB201 puts these in one class, though the first computes one conv1x1 and the second two.
    a = "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|skip_connect~2|"
    b = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert SPACE.canonical_class(a) == SPACE.canonical_class(b)
    assert SPACE.cost(a, mode="pruned") != SPACE.cost(b, mode="pruned")
    assert SPACE.cost(a, mode="deployed") == SPACE.cost(b, mode="deployed") == SPACE.cost(a, mode="pruned")


def _cell_output_scales(model, x):
    scales = []
    hooks = [c.register_forward_hook(lambda _m, _i, o: scales.append(o.abs().mean().item())) for c in model.cells]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return scales


def test_calibrated_activations_are_realistic():
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for vec in _sample(10, seed=2):
        if not SPACE.is_valid(vec):
            continue
        scales = _cell_output_scales(build_model(vec, seed=0), x)
        assert min(scales) > 1e-2, (vec, scales)  # nothing vanishes towards denormals
        assert max(scales) < 1e4, (vec, scales)  # skip-only cells stay in fp16 range


def test_uncalibrated_nets_do_vanish_which_is_why_we_calibrate():
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    raw = build_model((3,) * 6, calibrate=False)
    calibrated = build_model((3,) * 6)
    assert _cell_output_scales(raw, x)[-1] < 1e-2 * _cell_output_scales(calibrated, x)[-1]


def test_build_is_deterministic_given_seed():
    x = torch.randn(2, 3, 32, 32)
    a, b, c = build_model(100, seed=5), build_model(100, seed=5), build_model(100, seed=6)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        assert not torch.equal(a(x), c(x))
    state = torch.random.get_rng_state()
    build_model(100, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched
