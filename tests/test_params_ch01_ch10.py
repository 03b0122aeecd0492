"""The parameter checks of chapters 1-4 and 8-10, run without a kernel: each chapter's parameters cell and the
validation cell after it are executed in-process with one override, and a bad value must be refused up front with a
``ParameterError`` that names the parameter (not accepted, not a TypeError from deep inside the chapter)."""

import ast
import re
from pathlib import Path

import pytest

from rlbits.validate import ParameterError

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


def _cells(name):
    """The setup cell, the parameters cell, and the validation after it: every code cell that follows the parameters
    cell with nothing but blank lines between them (a long validation may be split into short cells)."""
    md = (CHAPTERS / f"{name}.md").read_text()
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", md, flags=re.S)
    idx = next(i for i, c in enumerate(cells) if ":tags: [parameters]" in c)
    strip = lambda c: "\n".join(line for line in c.splitlines() if not line.startswith(":tags"))  # noqa: E731
    tail = md[md.index(cells[idx]) + len(cells[idx]) + 3:]
    checks = re.match(r"(?:\s*```\{code-cell\} ipython3\n.*?```)+", tail, flags=re.S).group(0)
    check = "\n".join(strip(c) for c in re.findall(r"```\{code-cell\} ipython3\n(.*?)```", checks, flags=re.S))
    return strip(cells[idx - 1]), strip(cells[idx]), check


def validate(name, **overrides):
    setup, params, check = _cells(name)
    ns = {}
    exec(setup, ns)
    exec(params, ns)
    ns.update(overrides)
    exec(check, ns)
    return ns


BAD = [
    ("01_bits_per_sample", "V", 2), ("01_bits_per_sample", "V", [10, 100]), ("01_bits_per_sample", "p_off_ratio", 1.0),
    ("01_bits_per_sample", "decoy_share", [0.5]), ("01_bits_per_sample", "label_support", 0),
    ("02_what_counts_as_a_bit", "V", 2), ("02_what_counts_as_a_bit", "V", 10**7),
    ("03_seeing_the_answer", "p", 0.0), ("03_seeing_the_answer", "p", [0.1]), ("03_seeing_the_answer", "p", 1e-13),
    ("03_seeing_the_answer", "grad_samples", 10**9), ("03_seeing_the_answer", "grpo_groups", 10**9),
    ("03_seeing_the_answer", "waiting_runs", 10**7), ("03_seeing_the_answer", "answer_rank", 1),
    ("04_pretraining_inverse_problem", "K", 64), ("04_pretraining_inverse_problem", "frac_deterministic", [0.5]),
    ("04_pretraining_inverse_problem", "targets", 0.3), ("04_pretraining_inverse_problem", "support", 1),
    ("08_warm_starts_inference", "p_target", [0.5, 0.9]), ("08_warm_starts_inference", "p_single", [0.1]),
    ("08_warm_starts_inference", "warm_levels", 0.01), ("08_warm_starts_inference", "warm_levels", [0.01, [0.02]]),
    ("08_warm_starts_inference", "warm_levels", []), ("08_warm_starts_inference", "beta_a", 0.01),
    ("09_curriculum_self_play", "mastery", [0.9]), ("09_curriculum_self_play", "elo_gaps", 400),
    ("09_curriculum_self_play", "sweep_V", 3), ("09_curriculum_self_play", "V", 1000),
    ("10_dense_rewards_judges", "p0", [0.8]), ("10_dense_rewards_judges", "target", [0.9]),
    ("10_dense_rewards_judges", "d", [0.3]), ("10_dense_rewards_judges", "T_list", 5),
    ("10_dense_rewards_judges", "process_flip", 0.1), ("10_dense_rewards_judges", "K_list", 3),
    ("10_dense_rewards_judges", "goodhart_proxy", 1), ("10_dense_rewards_judges", "m", 200),
]


@pytest.mark.parametrize("chapter,name,value", BAD)
def test_bad_value_refused_by_name(chapter, name, value):
    with pytest.raises(ParameterError, match=re.escape(name)):
        validate(chapter, **{name: value})


@pytest.mark.parametrize("chapter", sorted({c for c, _, _ in BAD}))
def test_defaults_pass(chapter):
    validate(chapter)


@pytest.mark.parametrize("chapter,name,value", [
    ("04_pretraining_inverse_problem", "K", 48), ("10_dense_rewards_judges", "m", 25),
    ("03_seeing_the_answer", "grad_samples", 10**8), ("01_bits_per_sample", "V", 10**12),
])
def test_stated_maxima_accepted(chapter, name, value):
    validate(chapter, **{name: value})


def test_front_matter_settings_pass_validation():
    # every declared setting of these chapters gets past the parameter checks
    for chapter in sorted({c for c, _, _ in BAD}):
        md = (CHAPTERS / f"{chapter}.md").read_text()
        block = md.split("---", 2)[1]
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("- {"):
                setting = ast.literal_eval(re.sub(r"(\w+):", r"'\1':", line[2:]))
                validate(chapter, **setting)
