"""Byte-pair encoding, small and fast (chapter 14).

Trained on words with their counts, the standard trick: the text is cut into pre-tokens (a word with its leading
space, or one other character; :func:`pretokenize`), merges never cross a pre-token, so training only needs each
distinct pre-token once, weighted by its count. A merge updates the pair counts of the words that contain the merged
pair and nothing else, so 1,000 merges on the King James Version's ~13,000 distinct words take about a second.

Ties between equally frequent pairs go to the smallest pair of ids, so training is deterministic. A
:class:`Tokenizer` encodes by applying the merges in the order they were learned (lowest rank first) inside each
pre-token, and decodes by concatenating token strings: ``decode(encode(text)) == text`` for any text over the
training alphabet.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from rlbits.validate import ParameterError, integer

_PRETOKEN = re.compile(r" ?[a-z]+|[^a-z]", re.DOTALL)


def pretokenize(text: str) -> list[str]:
    """Pre-tokens: a run of letters with at most one leading space, or any single other character.

    The pieces concatenate back to ``text`` exactly (every character is matched by one of the two patterns).
    """
    return _PRETOKEN.findall(text)


def _merge(ids: list[int], a: int, b: int, new: int) -> list[int]:
    """``ids`` with every non-overlapping occurrence of the pair ``(a, b)``, left to right, replaced by ``new``."""
    out, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


@dataclass
class Tokenizer:
    """A trained BPE vocabulary: ``tokens[i]`` is token ``i``'s string; the first ``n_base`` are single characters;
    ``merges[k] = (a, b)`` made token ``n_base + k`` from tokens ``a`` and ``b``."""

    tokens: list[str]
    n_base: int
    merges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def V(self) -> int:
        return len(self.tokens)

    def _encode_word(self, word: str, ranks: dict, index: dict) -> list[int]:
        try:
            ids = [index[ch] for ch in word]
        except KeyError as exc:
            raise ParameterError(f"character {exc.args[0]!r} is not in the tokenizer's alphabet") from None
        while len(ids) > 1:
            best, at = None, -1
            for i in range(len(ids) - 1):
                r = ranks.get((ids[i], ids[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            ids = _merge(ids, *self.merges[best], self.n_base + best)
        return ids

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (int32); each distinct pre-token is segmented once per call."""
        ranks = {pair: k for k, pair in enumerate(self.merges)}
        index = {ch: i for i, ch in enumerate(self.tokens[: self.n_base])}
        seen: dict[str, list[int]] = {}
        out: list[int] = []
        for w in pretokenize(text):
            ids = seen.get(w)
            if ids is None:
                ids = seen[w] = self._encode_word(w, ranks, index)
            out.extend(ids)
        return np.asarray(out, dtype=np.int32)

    def decode(self, ids) -> str:
        return "".join(self.tokens[int(i)] for i in ids)


def characters(text: str) -> Tokenizer:
    """The character vocabulary of ``text`` (sorted), as a tokenizer without merges."""
    return Tokenizer(tokens=sorted(set(text)), n_base=len(set(text)))


def train(text: str, vocab_size: int) -> Tokenizer:
    """Learn ``vocab_size - (alphabet size)`` merges on ``text`` (deterministic; see the module docstring)."""
    base = characters(text)
    vocab_size = integer("vocab_size", vocab_size, minimum=base.V, maximum=100_000)
    index = {ch: i for i, ch in enumerate(base.tokens)}
    counts = Counter(pretokenize(text))
    words = [[index[ch] for ch in w] for w in counts]
    freq = list(counts.values())
    pairs: Counter = Counter()
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for wi, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            pairs[pair] += freq[wi]
            where[pair].add(wi)
    heap = [(-c, a, b) for (a, b), c in pairs.items()]
    heapq.heapify(heap)
    tokens, merges = list(base.tokens), []
    while len(tokens) < vocab_size:
        while heap:
            c, a, b = heap[0]
            if pairs.get((a, b), 0) == -c and c < 0:
                break
            heapq.heappop(heap)  # stale entry: the pair's count has changed since it was pushed
        if not heap:
            raise ParameterError(f"vocab_size={vocab_size!r}: only {len(tokens)} tokens can be made from this text")
        _, a, b = heapq.heappop(heap)
        new = len(tokens)
        tokens.append(tokens[a] + tokens[b])
        merges.append((a, b))
        changed = set()
        for wi in list(where.pop((a, b), ())):
            ids, f = words[wi], freq[wi]
            for pair in zip(ids, ids[1:]):
                pairs[pair] -= f
                changed.add(pair)
            words[wi] = out = _merge(ids, a, b, new)
            for pair in zip(out, out[1:]):
                pairs[pair] += f
                where[pair].add(wi)
                changed.add(pair)
        pairs.pop((a, b), None)
        for pair in changed:
            c = pairs.get(pair, 0)
            if c > 0:
                heapq.heappush(heap, (-c, *pair))
            else:
                pairs.pop(pair, None)
    return Tokenizer(tokens=tokens, n_base=base.V, merges=merges)
