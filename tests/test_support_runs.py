"""rlbits.support_runs: chapter 3's truncation and failure-penalty experiments."""

import numpy as np
import pytest

from rlbits import support_runs, truncation
from rlbits.validate import ParameterError


@pytest.fixture(scope="module")
def theta0():
    return np.random.default_rng(0).normal(size=60)


def test_answer_at_rank(theta0):
    order = np.argsort(-theta0)
    assert support_runs.answer_at_rank(theta0, 1) == order[0]
    assert support_runs.answer_at_rank(theta0, 60) == order[-1]
    assert support_runs.answer_at_rank([1.0, 2.0, 2.0], 2) == 2  # ties broken by index
    with pytest.raises(ParameterError, match="rank"):
        support_runs.answer_at_rank(theta0, 61)


def test_truncation_runs_use_one_stream_per_sampler_and_run(theta0):
    answer = support_runs.answer_at_rank(theta0, 30)
    samplers = {"full": (60, 1.0), "cut": (10, 1.0), "keep": (40, 1.0)}
    runs = support_runs.truncation_runs(theta0, answer, samplers, 0.5, 100_000, 3, np.random.SeedSequence(5))
    assert list(runs) == list(samplers) and all(len(r) == 3 for r in runs.values())
    # the sampler that cuts the answer out never sees a success
    assert all(len(t) == 1 and r[0] == 0.0 for t, r in runs["cut"])
    # run j of sampler i is the run of grandchild (i, j)
    ss = np.random.SeedSequence(5).spawn(3)[2].spawn(3)[1]
    t, r = truncation.truncated_reinforce_run(theta0, answer, 40, 1.0, 0.5, 100_000, np.random.default_rng(ss))
    assert np.array_equal(runs["keep"][1][0], t) and np.array_equal(runs["keep"][1][1], r)
    reach = support_runs.samples_to_reach(runs["full"], 0.5)
    assert reach.shape == (3,) and np.all(np.isfinite(reach))
    assert np.all(np.isinf(support_runs.samples_to_reach(runs["cut"], 0.5)))


def test_penalty_runs_do_not_depend_on_the_excluded_answer(theta0):
    near = support_runs.answer_at_rank(theta0, 12)
    far = support_runs.answer_at_rank(theta0, 40)
    other = support_runs.answer_at_rank(theta0, 60)
    out = support_runs.penalty_runs(theta0, near, far, other, 10, 0.5, 2_000, 3, np.random.SeedSequence(9))
    assert len(out["near_entry"]) == 3 and len(out["far"]) == 2
    assert out["same"] and out["compared"] > 0
    for entry, actions, theta in out["far"]:
        assert abs(theta.sum() - theta0.sum()) < 1e-9  # updates sum to zero: the sum of the logits is conserved
    # the near runs are the first three children
    s = np.random.SeedSequence(9).spawn(6)[0]
    assert out["near_entry"][0] == truncation.penalised_topk_run(theta0, near, 10, 0.5, 2_000, np.random.default_rng(s))[0]
