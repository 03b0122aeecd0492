"""rlbits: the helper package of the executable book on bits per FLOP in RL and supervised learning.

Modules are organised by idea; each says which chapter introduces it:

- :mod:`rlbits.validate`  -- checks for chapter parameters (clear errors naming the value and allowed range)
- :mod:`rlbits.results`   -- ``record`` and ``verdict``: glue a number into the prose and the results file
- :mod:`rlbits.info`      -- surprisal, binary entropy and friends (chapter 1)
- :mod:`rlbits.plotting`  -- the book's figure style
- :mod:`rlbits.pipeline`  -- execute chapters with papermill and render the book (``python -m rlbits``)
"""

__version__ = "0.1.0"

from rlbits.results import record, verdict, VERDICTS  # noqa: E402,F401
from rlbits.plotting import setup_style  # noqa: E402,F401


def setup_chapter(seed: int = 0):
    """The hidden first cell of every chapter: plot style and a seeded generator factory.

    Returns a :class:`numpy.random.SeedSequence` from which a chapter spawns independent streams.
    """
    import numpy as np

    setup_style()
    return np.random.SeedSequence(seed)
