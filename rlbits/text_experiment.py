"""Bits per FLOP on real text: vocabularies, the four methods' runs, and their read-outs (chapter 14).

Each function is one step the chapter shows as a single call: build the character and BPE vocabularies and encode
the corpus (:func:`vocabularies`), train every method from the same initialisation on the same contexts for every
vocabulary and seed (:func:`train_all`), and read samples and FLOPs to the target (:func:`cross`) and the identity's
three numbers (:func:`identity`) off the runs. The arithmetic is that of :mod:`rlbits.textlearn`, :mod:`rlbits.mlp_lm`
and :mod:`rlbits.bpe`; this module wires the chapter's streams.
"""

from __future__ import annotations

import math

import numpy as np

from rlbits import bpe, mlp_lm, textlearn

METHODS = ("SL", "RL", "distill", "RL_baseline")


def vocabularies(train_text: str, valid_text: str, bpe_sizes) -> tuple[dict, dict]:
    """The character vocabulary and one BPE vocabulary per size in ``bpe_sizes``, trained on ``train_text``
    (chapter 14). Returns ``(tokenizers, data)`` keyed ``"chars"`` then each size: the tokenizers and the encoded
    ``(train, valid)`` arrays. Raises ``AssertionError`` if a held-out text does not decode to itself."""
    tokenizers = {"chars": bpe.characters(train_text)}
    largest = bpe.train(train_text, max(bpe_sizes)) if bpe_sizes else tokenizers["chars"]
    for V in bpe_sizes:  # one training serves every size: the smaller vocabularies are its prefixes
        tokenizers[V] = largest.prefix(V)
    assert tokenizers["chars"].tokens == largest.tokens[:largest.n_base]  # the characters are its prefix too
    # the texts are split once, and each distinct word is segmented once for every vocabulary
    words, seqs = bpe.split_words([train_text, valid_text])
    encoded = largest.encode_prefixes(words, seqs, [tok.V for tok in tokenizers.values()])
    data = {}
    for key, tok in tokenizers.items():
        tr, va = encoded[tok.V]
        assert tok.decode(va) == valid_text  # exact round trip
        data[key] = (tr, va)
    return tokenizers, data


def train_all(tokenizers: dict, data: dict, eval_seed, run_seed, *, n_seeds: int, n_ctx: int, emb: int,
              hidden: int, batch: int, lr: float, budget_per_token: int, teacher_alpha: float, baseline_rate: float,
              n_eval: int, n_probe: int, V_baseline_max: int, stop: float, n_points: int = 14):
    """Every method on every vocabulary and seed (chapter 14).

    Per vocabulary (in the order of ``tokenizers``): held-out contexts and a probe drawn from one child of
    ``eval_seed``; an interpolated bigram teacher; the target pass rate (the unigram model's on the held-out
    contexts); a cap of ``budget_per_token * V / (lr * batch)`` steps. Per seed (children of one child of
    ``run_seed``): three streams (data, actions, initialisation) shared by the methods, SL, RL and distillation,
    and REINFORCE with a running baseline up to ``V_baseline_max``. Returns ``(runs, targets, teachers,
    ce_teacher)``: ``runs[key, method, seed]`` from :func:`rlbits.textlearn.train`, and per vocabulary the target,
    the teacher and its held-out cross-entropy.
    """
    keys = list(tokenizers)
    runs, targets, teachers, ce_teacher = {}, {}, {}, {}
    eval_rngs = dict(zip(keys, eval_seed.spawn(len(keys))))
    run_seeds = dict(zip(keys, run_seed.spawn(len(keys))))
    for key in keys:
        tr, va = data[key]
        V = tokenizers[key].V
        arch = mlp_lm.Arch(V=V, n_ctx=n_ctx, d=emb, H=hidden)
        erng = np.random.default_rng(eval_rngs[key])
        ectx, ey = mlp_lm.windows(va, n_ctx, erng.integers(n_ctx, len(va), n_eval))
        probe = mlp_lm.windows(tr, n_ctx, erng.integers(n_ctx, len(tr), n_probe))
        teachers[key] = teacher = textlearn.Bigram.fit(tr, V, teacher_alpha)
        ce_teacher[key] = teacher.cross_entropy(va)
        targets[key] = target = float(teacher.unigram[ey].mean())
        n_steps = max(100, math.ceil(budget_per_token * V / (lr * batch)))  # a cap: runs stop soon after the target
        methods = ["SL", "RL", "distill"] + (["RL_baseline"] if V <= V_baseline_max else [])
        for s, ss in enumerate(run_seeds[key].spawn(n_seeds)):
            streams = ss.spawn(3)  # data, actions, initialisation: shared by the methods of this seed
            for m in methods:
                runs[key, m, s] = textlearn.train(m, arch, tr, ectx, ey, streams, n_steps=n_steps, batch=batch,
                                                  lr=lr, teacher=teacher, baseline_rate=baseline_rate, probe=probe,
                                                  target=target, stop_factor=stop, n_points=n_points)
    return runs, targets, teachers, ce_teacher


def cross(runs: dict, key, m: str, n_seeds: int):
    """Samples and FLOPs to the target of method ``m`` at vocabulary ``key``, one per seed (nan if a run did not
    reach it) (chapter 14)."""
    r = [runs[key, m, s] for s in range(n_seeds)]
    return np.array([x.cross_samples for x in r]), np.array([x.cross_flops for x in r])


def identity(runs: dict, key, s: int):
    """The identity's three numbers for seed ``s`` at vocabulary ``key`` (chapter 14): SL's held-out bits per FLOP
    over REINFORCE's (measured, each to its best checkpoint), SL's samples per FLOP over REINFORCE's, SL's probe bits
    per sample over REINFORCE's; and REINFORCE's held-out bits gained."""
    w = {m: textlearn.window_to_best(runs[key, m, s]) for m in ("SL", "RL")}
    measured = (w["SL"]["bits"] / w["SL"]["flops"]) / (w["RL"]["bits"] / w["RL"]["flops"])
    spf = (w["SL"]["samples"] / w["SL"]["flops"]) / (w["RL"]["samples"] / w["RL"]["flops"])
    bps = w["SL"]["probe_bits_per_sample"] / w["RL"]["probe_bits_per_sample"]
    return measured, spf, bps, w["RL"]["bits"]
