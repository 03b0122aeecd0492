"""Tests of rlbits.jagged_runs, the runs of chapter 12, against rlbits.strategies called directly."""

import numpy as np
import pytest

from rlbits import jagged_runs as jr
from rlbits import strategies as st


@pytest.fixture
def pop():
    return st.make_population(np.random.default_rng(0), n_problems=30, heuristic_share=0.5, n_junk=3)


def _groups(p_h=0.2):
    z1, z2 = st.base_logits(p_h, 0.1, 3), st.base_logits(p_h, 0.01, 3)
    return [("a", z1, z1, 0.0, 0), ("b", z2, z2, 0.3, 5)]


def test_fmt_k():
    assert jr.fmt_k(None) == "none" and jr.fmt_k(np.int64(7)) == 7


def test_train_groups_equals_training_each_group_alone(pop):
    R, R_hard = pop.mean_rates(), pop.mean_rates(~pop.heuristic_applies)
    groups = _groups()
    seeds = [(np.random.SeedSequence(1), np.random.SeedSequence(2)), (np.random.SeedSequence(3), None)]
    both = jr.train_groups(groups, seeds, R, R_hard, 3, 20, 8, 0.5)
    alone = st.train_reinforce(groups[1][1], R, seeds=np.random.SeedSequence(3).spawn(3), steps=20, batch=8, lr=0.5,
                               entropy_bonus=0.3, curriculum_rates=R_hard, curriculum_steps=5)
    assert both.logits.shape == (6, groups[0][1].size)
    assert np.allclose(both.logits[3:], alone.logits)


def test_evaluate_summary_matches_the_curves(pop):
    R, R_hard = pop.mean_rates(), pop.mean_rates(~pop.heuristic_applies)
    groups = _groups()
    res = jr.train_groups(groups[:1], [(np.random.SeedSequence(1), None)], R, R_hard, 4, 30, 8, 0.5)
    ks = np.arange(1, 65)
    out, summary = jr.evaluate(res, groups[0][2], pop.solve, ks, np.random.SeedSequence(9), R,
                               0.5 * 7 / 8, 30, 1e-6)
    assert np.allclose(out["trained"], st.pass_at_k_exact(res.final_probs, pop.solve, ks))
    assert summary["pass1_trained"] == out["trained"][0]
    assert summary["crossover_k"] == jr.fmt_k(out["cross"])
    assert summary["escape_over_budget"] == pytest.approx(summary["escape_steps"] / 30)
    assert summary["estimator_max_abs_error"] < 0.02
    assert 0 <= summary["share_on_general"] <= 1


def test_mean_field_threshold_lies_inside_the_grid_and_rises_with_a_shorter_budget(pop):
    R = pop.mean_rates()
    grid = np.geomspace(1e-3, 0.5, 60)
    long_, _ = jr.mean_field_threshold(0.2, 3, R, grid, 400, 32, 0.5)
    short, final = jr.mean_field_threshold(0.2, 3, R, grid, 100, 32, 0.5)
    assert final.shape == grid.shape
    assert grid[0] < long_ < short < grid[-1]


def test_mean_field_rows_equals_the_mean_field_row_by_row(pop):
    R, R_hard = pop.mean_rates(), pop.mean_rates(~pop.heuristic_applies)
    z = np.array([st.base_logits(0.2, 0.01, 3), st.base_logits(0.2, 0.05, 3)])
    out = jr.mean_field_rows(z, R, [0.0, 0.4], steps=50, batch=16, lr=0.5, curriculum_rates=R_hard,
                             curriculum_steps=10)
    for row, beta in enumerate((0.0, 0.4)):
        ref = st.mean_field(z[row], R, steps=50, batch=16, lr=0.5, entropy_bonus=beta, curriculum_rates=R_hard,
                            curriculum_steps=10)[-1, 0]
        assert np.allclose(out[row], ref, rtol=1e-10, atol=1e-13)
