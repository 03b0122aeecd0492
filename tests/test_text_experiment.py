"""Tests of rlbits.text_experiment, the experiment of chapter 14, on a tiny text against the modules it wires."""

import numpy as np
import pytest

from rlbits import bpe, mlp_lm, textlearn
from rlbits import text_experiment as te

TRAIN = "the cat sat on the mat and the dog sat on the log " * 40
VALID = "the dog sat on the mat and the cat sat on the log " * 6


@pytest.fixture(scope="module")
def vocab():
    return te.vocabularies(TRAIN, VALID, [30])


def test_vocabularies_round_trip_and_order(vocab):
    tokenizers, data = vocab
    assert list(tokenizers) == ["chars", 30]
    assert tokenizers[30].V == bpe.train(TRAIN, 30).V
    for key, (tr, va) in data.items():
        assert tokenizers[key].decode(va) == VALID
        assert np.array_equal(tr, tokenizers[key].encode(TRAIN))


@pytest.fixture(scope="module")
def experiment(vocab):
    tokenizers, data = vocab
    out = te.train_all(tokenizers, data, np.random.SeedSequence(1), np.random.SeedSequence(2), n_seeds=2, n_ctx=2,
                       emb=4, hidden=8, batch=16, lr=2.0, budget_per_token=400, teacher_alpha=4.0,
                       baseline_rate=0.05, n_eval=256, n_probe=64, V_baseline_max=20, stop=1.25, n_points=6)
    return tokenizers, data, out


def test_train_all_runs_every_method_and_the_baseline_only_up_to_its_vocabulary(experiment):
    tokenizers, data, (runs, targets, teachers, ce_teacher) = experiment
    assert tokenizers["chars"].V <= 20 < tokenizers[30].V
    assert {m for (k, m, s) in runs if k == "chars"} == {"SL", "RL", "distill", "RL_baseline"}
    assert {m for (k, m, s) in runs if k == 30} == {"SL", "RL", "distill"}
    assert {s for (_, _, s) in runs} == {0, 1}
    for key in tokenizers:
        assert 0 < targets[key] < 1
        assert ce_teacher[key] == pytest.approx(teachers[key].cross_entropy(data[key][1]))


def test_train_all_matches_one_run_trained_directly(experiment):
    tokenizers, data, (runs, targets, teachers, _) = experiment
    key = 30
    tr, va = data[key]
    eval_seed = np.random.SeedSequence(1).spawn(2)[1]
    erng = np.random.default_rng(eval_seed)
    ectx, ey = mlp_lm.windows(va, 2, erng.integers(2, len(va), 256))
    probe = mlp_lm.windows(tr, 2, erng.integers(2, len(tr), 64))
    streams = np.random.SeedSequence(2).spawn(2)[1].spawn(2)[1].spawn(3)
    arch = mlp_lm.Arch(V=tokenizers[key].V, n_ctx=2, d=4, H=8)
    n_steps = max(100, int(np.ceil(400 * arch.V / (2.0 * 16))))
    direct = textlearn.train("SL", arch, tr, ectx, ey, streams, n_steps=n_steps, batch=16, lr=2.0,
                             teacher=teachers[key], baseline_rate=0.05, probe=probe, target=targets[key],
                             stop_factor=1.25, n_points=6)
    assert np.array_equal(direct.val, runs[key, "SL", 1].val)


def test_cross_and_identity_read_the_runs(experiment):
    _, _, (runs, *_) = experiment
    samples, flops = te.cross(runs, "chars", "SL", 2)
    assert np.array_equal(samples, [runs["chars", "SL", s].cross_samples for s in range(2)])
    assert np.all(flops[np.isfinite(flops)] > 0)
    measured, spf, bps, rl_bits = te.identity(runs, "chars", 0)
    w = {m: textlearn.window_to_best(runs["chars", m, 0]) for m in ("SL", "RL")}
    assert spf == pytest.approx((w["SL"]["samples"] / w["SL"]["flops"]) / (w["RL"]["samples"] / w["RL"]["flops"]))
    assert rl_bits == w["RL"]["bits"]
