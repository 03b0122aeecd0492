"""rlbits: the helper package of the executable book on bits per FLOP in RL and supervised learning.

Modules are organised by idea; each docstring names the chapter that introduces it.

Information measures
    :mod:`rlbits.info` (surprisal, binary entropy, entropy and KL; ch. 1), :mod:`rlbits.measures` (three ways to
    count a bit; ch. 2)
Samplers, data and variance
    :mod:`rlbits.sightings` (waiting for the first success, GRPO's signal; ch. 3),
    :mod:`rlbits.reinforce_gradient` (the REINFORCE gradient's mean and noise; ch. 3, 4, 6),
    :mod:`rlbits.truncation` (top-k and tempered sampling; ch. 3), :mod:`rlbits.language`
    (a Markov language of known entropy; ch. 4, 7), :mod:`rlbits.noise` (gradient noise scale; ch. 4),
    :mod:`rlbits.passk` (pass@k; ch. 8),
    :mod:`rlbits.inverse_cdf` (inverse-CDF sampling's count by the first index that reaches the draw; ch. 7, 14)
Learners
    :mod:`rlbits.learners` (the fast exact engine for one prompt; ch. 6) with :mod:`rlbits.reference` (plain
    per-sample versions, for tests and the benchmark), :mod:`rlbits.bigram` (next-token SL vs RL; ch. 7),
    :mod:`rlbits.curriculum` (warm starts, curricula; ch. 8, 9), :mod:`rlbits.selfplay` (Elo, self-play; ch. 9),
    :mod:`rlbits.dense` and :mod:`rlbits.judges` (process rewards, value functions, judges; ch. 10),
    :mod:`rlbits.distill` and :mod:`rlbits.search_targets` (soft labels, the AlphaGo recipe; ch. 11),
    :mod:`rlbits.strategies` (elicitation and jaggedness; ch. 12), :mod:`rlbits.worldmodel` (ch. 13)
Networks on real text
    :mod:`rlbits.corpus` (the King James Version, checksummed), :mod:`rlbits.bpe` (byte-pair encoding),
    :mod:`rlbits.mlp_lm` (an MLP language model with hand-written gradients and its FLOP count),
    :mod:`rlbits.textlearn` (SL, REINFORCE and distillation on text; ch. 14)
Experiments' accounting
    :mod:`rlbits.compute` (FLOPs and where compute goes; ch. 5)
What every chapter imports
    :func:`setup_chapter` (below), :mod:`rlbits.plotting`, :mod:`rlbits.results` (``record``),
    :mod:`rlbits.verdicts` (``decide``: verdicts from rules), :mod:`rlbits.validate`
The pipeline (``python -m rlbits``), which no chapter imports
    :mod:`rlbits.pipeline`: executing chapters, the claims ledger, the benchmark, rendering (its docstring walks
    through a build)
"""

__version__ = "0.1.0"

from rlbits.results import record, VERDICTS  # noqa: E402,F401
from rlbits.plotting import setup_style  # noqa: E402,F401
from rlbits.verdicts import decide  # noqa: E402,F401


def setup_chapter(seed: int = 0):
    """The hidden first cell of every chapter: plot style and a seeded generator factory.

    Returns a :class:`numpy.random.SeedSequence` from which a chapter spawns independent streams.
    """
    import numpy as np

    setup_style()
    return np.random.SeedSequence(seed)
