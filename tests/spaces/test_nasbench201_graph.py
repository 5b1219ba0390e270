"""Validity, NB201's computation classes and the seed's graph encoding."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from eagle.spaces import get
from eagle.spaces.nasbench201 import graph as G

SPACE = get("nasbench201")


def test_golden_counts():
    archs = SPACE.archs()
    assert len(archs) == 15625
    assert sum(SPACE.is_valid(a) for a in archs) == 15284
    assert len(SPACE.archs(valid_only=True)) == 15284
    assert len({G.canonical_key(a) for a in archs}) == 6466
    assert SPACE.num_classes == 6466
    assert len(set(SPACE.class_ids().tolist())) == 6466


def test_validity_by_hand():
    assert not SPACE.is_valid((0, 0, 0, 0, 0, 0))
    assert SPACE.is_valid((0, 0, 0, 1, 0, 0))  # direct skip 0->3
    assert SPACE.is_valid((3, 0, 0, 0, 3, 0))  # 0->1->3
    assert not SPACE.is_valid((3, 0, 0, 0, 0, 4))  # node 2 has no input: 2->3 dangles
    assert SPACE.is_valid((0, 0, 0, 0, 0, 0)) is False
    assert G.live_edges((3, 3, 0, 0, 0, 4)) == (False, True, False, False, False, True)


def test_class_ids_match_canonical_keys_exactly():
    by_key = defaultdict(set)
    for idx, vec in enumerate(SPACE.archs()):
        by_key[G.canonical_key(vec)].add(int(SPACE.class_ids()[idx]))
    assert all(len(ids) == 1 for ids in by_key.values())
    assert len({next(iter(ids)) for ids in by_key.values()}) == 6466


def test_representative_is_a_member_and_cheapest():
    reps = SPACE.representatives()
    assert len(reps) == 6466
    for rep in reps[:500]:
        members = SPACE.class_members(rep)
        assert rep in members
        assert SPACE.representative(rep) == rep
        rep_macs = SPACE.cost(rep, mode="pruned")[1]
        assert all(SPACE.cost(m, mode="pruned")[1] >= rep_macs for m in members)
    assert len(SPACE.representatives(valid_only=True)) == 6461


def test_invalid_archs_never_share_a_class_with_valid_ones():
    valid = SPACE.valid_mask()
    ids = SPACE.class_ids()
    assert not set(ids[valid].tolist()) & set(ids[~valid].tolist())


def test_seed_encoding_worked_example():
    # |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
    adj, feats = SPACE.seed_encoding((3, 3, 4, 1, 3, 1))
    # 8-node DAG after contracting skip nodes 4 (0->3) and 6 (2->3): arcs 0->1, 0->2, 1->3, 1->5,
    # 5->7, 0->7 (from node 4), 2->7 and 3->7 (from node 6); nodes 4 and 6 pruned.
    expected = np.zeros((8, 8))
    for s, d in [(0, 1), (0, 2), (1, 3), (1, 5), (5, 7), (0, 7), (2, 7), (3, 7)]:
        expected[s, d] = 1
    want = np.zeros((9, 9))
    want[1:, 1:] = expected
    want[0, 1:] = 1
    np.fill_diagonal(want, 1)
    assert adj.dtype == np.float64 and adj.shape == (9, 9)
    np.testing.assert_array_equal(adj, want)
    want_f = np.zeros((9, 6))
    want_f[0, 5] = 1  # global
    want_f[1, 3] = 1  # input
    want_f[2, 1] = want_f[3, 1] = want_f[6, 1] = 1  # conv3x3 nodes (edges 0->1, 0->2, 1->3)
    want_f[4, 2] = 1  # avg_pool (edge 1->2)
    want_f[8, 4] = 1  # output
    np.testing.assert_array_equal(feats, want_f)


def test_seed_encoding_skip_whose_successor_is_none_is_contracted_then_pruned():
    # edge 0->2 skip feeds edge 2->3 which is none: node 2 is contracted into node 6, node 6 is
    # deleted, so node 2 keeps no arc but its self loop and the global node's arc.
    adj, feats = SPACE.seed_encoding((3, 1, 0, 0, 3, 0))
    assert adj[1 + 2].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert adj[:, 1 + 2].tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert feats[1 + 2].sum() == 0
    assert feats[1 + 5, 1] == 1 and feats[1 + 1, 1] == 1  # the two conv3x3 on the live path


def test_seed_encoding_skip_without_predecessor_is_pruned():
    # node 1 is none, so edge 1->2 (skip) has no predecessor; its arc to node 6 survives the
    # contraction step but pruning removes it (unreachable from the input).
    adj, feats = SPACE.seed_encoding((0, 3, 1, 3, 0, 3))
    assert adj[1 + 3].sum() == 1
    assert feats[1 + 3].sum() == 0
    assert adj[1 + 2, 1 + 6] == 1  # conv 0->2 feeds conv 2->3


def test_seed_encoding_of_invalid_arch_is_empty_but_for_global_node_and_self_loops():
    adj, feats = SPACE.seed_encoding((0, 0, 0, 0, 0, 0))
    want = np.eye(9)
    want[0, 1:] = 1
    np.testing.assert_array_equal(adj, want)
    assert feats.sum() == 1 and feats[0, 5] == 1


def test_graph8_matches_seed_encoding_for_all_archs():
    labels_to_col = {1: 3, 2: 4, 3: 0, 4: 1, 5: 2}
    for vec in SPACE.archs()[::7]:
        adj9, feats9 = SPACE.seed_encoding(vec)
        adj8, labels = SPACE.graph8_encoding(vec)
        off = adj9[1:, 1:] - np.eye(8)
        np.testing.assert_array_equal(off, adj8)
        for node, lab in enumerate(labels):
            if lab == 0:
                assert feats9[node + 1].sum() == 0
            else:
                assert feats9[node + 1, labels_to_col[int(lab)]] == 1
