"""The MLP language model of chapter 14: gradients against finite differences, the FLOP count against the products
the code performs and against chapter 5's 6N rule, the exact one-sample step, and the training methods."""

import numpy as np
import pytest

from rlbits import compute, mlp_lm, textlearn
from rlbits.validate import ParameterError

ARCH = mlp_lm.Arch(V=11, n_ctx=3, d=4, H=5)


def setup(seed=0, out_scale=1.0):
    rng = np.random.default_rng(seed)
    params = mlp_lm.init_params(ARCH, rng, np.float64, out_scale=out_scale)
    ctx = rng.integers(0, ARCH.V, size=(6, ARCH.n_ctx))
    ctx[0, 0] = ctx[0, 2]  # a token repeated inside one context
    y = rng.integers(0, ARCH.V, size=6)
    return rng, params, ctx, y


def total_loss(params, ctx, target_fn):
    _, _, p = mlp_lm.forward(params, ctx)
    return target_fn(p)


@pytest.mark.parametrize("method", ["SL", "RL", "distill"])
def test_gradients_match_finite_differences(method):
    rng, params, ctx, y = setup()
    a = rng.integers(0, ARCH.V, size=len(y))
    coef = rng.normal(size=len(y))
    q = rng.dirichlet(np.ones(ARCH.V), size=len(y))
    rows = np.arange(len(y))
    if method == "SL":
        fn = lambda p: -np.log(p[rows, y]).sum()
    elif method == "RL":  # surrogate -(r - b) log p_a with fixed coefficients
        fn = lambda p: -(coef * np.log(p[rows, a])).sum()
    else:
        fn = lambda p: -(q * np.log(p)).sum()
    x, h, p = mlp_lm.forward(params, ctx)
    G = {"SL": p - np.eye(ARCH.V)[y], "RL": coef[:, None] * (p - np.eye(ARCH.V)[a]), "distill": p - q}[method]
    g = mlp_lm.backward(params, ctx, x, h, G)
    gE = np.zeros_like(params["E"])
    np.add.at(gE, g["E"][0], g["E"][1])
    grads = {"W1": g["W1"], "b1": g["b1"], "W2": g["W2"], "b2": g["b2"], "E": gE}
    eps = 1e-6
    for name, grad in grads.items():
        for idx in list(np.ndindex(grad.shape))[:: max(1, grad.size // 25)]:
            old = params[name][idx]
            params[name][idx] = old + eps
            up = total_loss(params, ctx, fn)
            params[name][idx] = old - eps
            down = total_loss(params, ctx, fn)
            params[name][idx] = old
            assert (up - down) / (2 * eps) == pytest.approx(grad[idx], rel=1e-5, abs=1e-8), (name, idx)


def test_flop_count_matches_the_products_performed_and_6N():
    rng, params, ctx, y = setup()
    log = []
    x, h, p = mlp_lm.forward(params, ctx, log)
    assert sum(2 * m * k * n for m, k, n in log) == len(ctx) * ARCH.flops("mm_forward")
    log.clear()
    mlp_lm.backward(params, ctx, x, h, p - np.eye(ARCH.V)[y], log)
    assert sum(2 * m * k * n for m, k, n in log) == len(ctx) * ARCH.flops("mm_backward")
    big = mlp_lm.Arch(V=1024, n_ctx=4, d=16, H=64)
    N = big.n_nonembedding
    assert N == 4 * 16 * 64 + 64 * 1024 + 64 + 1024
    ratio = big.sl_flops_per_sample(256) / compute.flops_per_token(N, "train")
    assert 1.0 < ratio < 1.05  # 6N plus the element-wise terms, a few per cent at this size
    assert big.flops("forward") / compute.flops_per_token(N) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ParameterError, match="part"):
        big.flops("sideways")


def test_one_step_drop_is_exact():
    rng, params, ctx, y = setup(1)
    x, h, p = mlp_lm.forward(params, ctx)
    G = p - np.eye(ARCH.V)[y]
    step = 0.3
    drop = mlp_lm.one_step_drop(params, ctx, x, h, p, G, y, step)
    for i in range(len(y)):  # the plain way: update a copy on sample i alone, then evaluate
        q = {k: v.copy() for k, v in params.items()}
        xi, hi, pi = mlp_lm.forward(q, ctx[i:i + 1])
        mlp_lm.sgd(q, mlp_lm.backward(q, ctx[i:i + 1], xi, hi, G[i:i + 1]), step)
        _, _, pn = mlp_lm.forward(q, ctx[i:i + 1])
        assert drop[i] == pytest.approx(np.log2(pn[0, y[i]] / p[i, y[i]]), rel=1e-9, abs=1e-12)


def test_uniform_start_and_sampling():
    rng, params, ctx, y = setup(2, out_scale=0.0)
    _, _, p = mlp_lm.forward(params, ctx)
    assert np.allclose(p, 1 / ARCH.V)
    probs = np.array([[0.1, 0.6, 0.3]])
    draws = mlp_lm.sample_tokens(np.repeat(probs, 20000, axis=0), np.random.default_rng(0))
    freq = np.bincount(draws, minlength=3) / len(draws)
    assert np.allclose(freq, probs[0], atol=0.015)


def test_bigram_teacher_rows_and_cross_entropy():
    ids = np.array([0, 1, 2, 1, 2, 0, 1, 1, 2, 0], dtype=np.int32)
    t = textlearn.Bigram.fit(ids, 3, alpha=2.0)
    u = (np.bincount(ids, minlength=3) + 1) / (len(ids) + 3)
    c = np.zeros((3, 3))
    for a, b in zip(ids[:-1], ids[1:]):
        c[a, b] += 1
    q = (c + 2.0 * u) / (c.sum(1, keepdims=True) + 2.0)
    assert np.allclose(t.rows(np.arange(3)), q, rtol=1e-6)
    assert t.cross_entropy(ids) == pytest.approx(-np.mean(np.log2(q[ids[:-1], ids[1:]])), rel=1e-6)


def test_methods_share_start_and_contexts_and_learn():
    rng = np.random.default_rng(3)
    ids = np.tile(np.arange(ARCH.V, dtype=np.int32), 300)  # a deterministic cycle: easy to learn
    ectx, ey = mlp_lm.windows(ids, ARCH.n_ctx, np.arange(ARCH.n_ctx, 200))
    teacher = textlearn.Bigram.fit(ids, ARCH.V, 1.0)
    out = {}
    for m in textlearn.METHODS:
        out[m] = textlearn.train(m, ARCH, ids, ectx, ey, (1, 2, 3), n_steps=300, batch=32, lr=2.0, teacher=teacher,
                                 probe=(ectx[:32], ey[:32]), target=0.5, n_points=6)
    for m, r in out.items():
        assert r.val[0] == pytest.approx(np.log2(ARCH.V))  # the same uniform start
        assert r.val.min() < r.val[0] - 0.5, m  # every method learns this language
        assert np.all(np.diff(r.flops) >= 0)
    sl, rl = out["SL"], out["RL"]
    # failures skip the backward pass, so REINFORCE spends fewer FLOPs per sample than SL
    assert rl.flops[-1] / rl.samples[-1] < sl.flops[-1] / sl.samples[-1]
    assert sl.cross_samples <= rl.cross_samples
    with pytest.raises(ParameterError, match="teacher"):
        textlearn.train("distill", ARCH, ids, ectx, ey, (1, 2, 3), n_steps=1, batch=4, lr=1.0)


def test_step_throughput_reports_consistent_rates():
    arch = mlp_lm.Arch(V=64, n_ctx=2, d=4, H=16)
    r = mlp_lm.step_throughput(arch, 32, seconds=0.2)
    assert r["step_flops"] == 32 * arch.sl_flops_per_sample(32)
    assert r["step_flops_per_s"] == pytest.approx(r["step_flops"] / r["step_s"])
    assert min(r["step_flops_per_s"], r["mm_flops_per_s"], r["square_flops_per_s"]) > 0
    assert 0 < r["mm_share_of_step_flops"] < 1
    with pytest.raises(ParameterError, match="batch"):
        mlp_lm.step_throughput(arch, 0)


def test_step_throughput_is_measured_once_per_build(tmp_path):
    import json

    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"rows": []}))
    arch = mlp_lm.Arch(V=32, n_ctx=2, d=4, H=8)
    first = mlp_lm.step_throughput_once(path, arch, 16, seconds=0.1)
    again = mlp_lm.step_throughput_once(path, arch, 16, seconds=0.1)
    assert first == again
    data = json.loads(path.read_text())
    assert data["rows"] == [] and len(data["mlp_lm"]) == 1


def test_teacher_rows_are_the_per_call_arithmetic_bit_for_bit():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 97, 5000)
    t = textlearn.Bigram.fit(ids, 97, alpha=4.0)
    prev = rng.integers(0, 97, 300)  # repeats included
    c = t.counts[prev]
    direct = (c + t.alpha * t.unigram) / (c.sum(1, keepdims=True) + t.alpha)
    assert t.rows(prev).dtype == direct.dtype and np.array_equal(t.rows(prev), direct)
    assert np.array_equal(t.rows(prev[:7]), direct[:7])  # the cached table serves later calls alike


def test_sampling_is_the_plain_inverse_cdf_count_and_forward_parts_divide_to_p():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.full(50, 0.1), 400).astype(np.float32)
    p[:3, 10:] = 0.0  # rows whose mass sits in the first tokens
    p[3, 20] = np.nan  # a broken row: the count stops mattering after the nan, as in the plain comparison
    a = mlp_lm.sample_tokens(p, np.random.default_rng(1))
    cdf = np.cumsum(p, axis=1)
    u = np.random.default_rng(1).random(len(p))[:, None] * cdf[:, -1:]
    assert np.array_equal(a, np.minimum((cdf < u).sum(axis=1), p.shape[1] - 1))
    params = mlp_lm.init_params(ARCH, np.random.default_rng(2), out_scale=1.0)
    ctx = np.random.default_rng(3).integers(0, ARCH.V, (64, ARCH.n_ctx))
    x, h, q = mlp_lm.forward(params, ctx)
    x2, h2, e, s = mlp_lm.forward_unnormalised(params, ctx)
    assert np.array_equal(e / s, q) and np.array_equal(h, h2) and np.array_equal(x, x2)
    assert np.array_equal(q, mlp_lm.softmax(np.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]))


def test_evaluate_is_the_plain_mean_over_forward_bit_for_bit():
    params = mlp_lm.init_params(ARCH, np.random.default_rng(6), out_scale=1.0)
    rng = np.random.default_rng(7)
    ctx, y = rng.integers(0, ARCH.V, (300, ARCH.n_ctx)), rng.integers(0, ARCH.V, 300)
    ce, pr = 0.0, 0.0
    for i in range(0, 300, 128):  # the same chunks as evaluate(batch=128)
        _, _, p = mlp_lm.forward(params, ctx[i:i + 128])
        py = p[np.arange(len(p)), y[i:i + 128]].astype(np.float64)
        ce -= np.log2(np.maximum(py, 1e-300)).sum()
        pr += py.sum()
    assert mlp_lm.evaluate(params, ctx, y, batch=128) == (ce / 300, pr / 300)
