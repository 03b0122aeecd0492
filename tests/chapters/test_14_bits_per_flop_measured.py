"""Chapter 14's recorded results against values computed here independently (plain counting and recursions)."""

import math
from collections import Counter

import pytest

from rlbits import bpe, corpus

pytestmark = pytest.mark.book
STEM = "14_bits_per_flop_measured"


@pytest.fixture(scope="module")
def split():
    return corpus.split(corpus.load_text())


def test_corpus_sizes(r, split):
    train, valid = split
    assert r["train_chars"] == len(train) and r["valid_chars"] == len(valid)
    assert r["corpus_chars"] == len(train) + len(valid) >= 1_000_000
    assert r["V_chars"] == len(set(train))


def test_teacher_cross_entropy_against_plain_bigram_counts(r, split):
    """The bigram teacher's held-out cross-entropy, recomputed with dictionaries from the token streams."""
    train, valid = split
    tok = bpe.train(train, r["V_report"])
    tr, va = tok.encode(train).tolist(), tok.encode(valid).tolist()
    V, alpha = tok.V, r["teacher_alpha"]
    uni = Counter(tr)
    pair = Counter(zip(tr[:-1], tr[1:]))
    ctx = Counter(tr[:-1])
    total = 0.0
    for a, b in zip(va[:-1], va[1:]):
        u = (uni[b] + 1) / (len(tr) + V)
        total -= math.log2((pair[(a, b)] + alpha * u) / (ctx[a] + alpha))
    assert r["teacher_ce_report"] == pytest.approx(total / (len(va) - 1), rel=1e-4)
    assert r["teacher_ce_report"] < math.log2(V)
    assert r["chars_per_token_report"] == pytest.approx(len(valid) / len(va), rel=1e-12)


def test_flop_count_against_6N(r):
    n, d, H, B, V = r["n_ctx"], r["emb"], r["hidden"], r["batch"], r["V_max"]
    mm = n * d * H + H * V
    N = mm + H + V
    assert r["N_nonembedding_max"] == N
    per_sample = (2 * mm + 2 * H + 6 * V) + 2 * V + (4 * mm + V + 4 * H + n * d) + 2 * (mm + H + V) / B + 2 * n * d
    assert r["sl_flops_per_sample_max"] == pytest.approx(per_sample, rel=1e-12)
    assert r["sl_flops_over_6N"] == pytest.approx(per_sample / (6 * N), rel=1e-12)
    assert 1.0 < r["sl_flops_over_6N"] < 1.1


def test_tabular_ratio_at_the_report_vocabulary(r):
    """Chapter 5/6's tabular recursion (one prompt, step 1) to the recorded target: RL's mean samples over SL's."""
    V, target = r["V_report"], r["target_report"]
    u = w = 0.0
    steps, rl = 0, 0.0
    while True:
        p = math.exp(u) / (math.exp(u) + (V - 1) * math.exp(w))
        if p >= target:
            break
        steps, rl = steps + 1, rl + 1 / p
        u, w = u + (1 - p), w - (1 - p) / (V - 1)
    assert r["rl_over_sl_tabular_report"] == pytest.approx(rl / steps, rel=1e-9)


def test_identity_bookkeeping_and_ranges(r):
    assert r["bpf_ratio_predicted"] > 0 and r["bpf_ratio_measured"] > 0
    assert r["identity_quotient_lo"] <= r["identity_quotient_median"] <= r["identity_quotient_hi"]
    assert r["spf_ratio"] < 1  # REINFORCE's failures skip the backward pass
    assert r["rl_sl_exponent_lo"] <= r["rl_sl_exponent"] + 1e-9 and r["rl_sl_exponent"] <= r["rl_sl_exponent_hi"] + 1e-9
    assert r["rl_over_sl_samples_report"] > 1
    assert r["all_runs_reached"] in (0.0, 1.0)
    assert 0 < r["rl_drop_over_bound_max"] and 0 < r["sl_drop_over_label_max"] < 1
