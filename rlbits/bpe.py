"""Byte-pair encoding, small and fast (chapter 14).

Trained on words with their counts, the standard trick: the text is cut into pre-tokens (a word with its leading
space, or one other character; :func:`pretokenize`), merges never cross a pre-token, so training only needs each
distinct pre-token once, weighted by its count. A merge updates the pair counts of the words that contain the merged
pair and nothing else, so 1,000 merges on the King James Version's ~13,000 distinct words take about a second.

Ties between equally frequent pairs go to the smallest pair of ids, so training is deterministic. A
:class:`Tokenizer` encodes by applying the merges in the order they were learned (lowest rank first) inside each
pre-token, and decodes by concatenating token strings: ``decode(encode(text)) == text`` for any text over the
training alphabet. Training never looks at the target size, so a smaller vocabulary is a prefix of a larger one
(:meth:`Tokenizer.prefix`), and one segmentation pass encodes a text for every prefix at once
(:meth:`Tokenizer.encode_prefixes`).
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

    def _segment(self, word: str, ranks: dict, index: dict, limits: list[int]) -> list[list[int]]:
        """The segmentation of ``word`` using only the first ``m`` merges, for each ``m`` in ``limits`` (ascending).

        Encoding applies the lowest-ranked merge present until none is. The ranks it applies increase: a merge
        creates pairs with the new token, which only later merges can use, and leaves every other pair as it was. So
        the segmentation under the first ``m`` merges is the state just before the first merge of rank ``>= m``,
        and one pass serves every prefix of the vocabulary (:meth:`prefix`)."""
        try:
            ids = [index[ch] for ch in word]
        except KeyError as exc:
            raise ParameterError(f"character {exc.args[0]!r} is not in the tokenizer's alphabet") from None
        out: list[list[int]] = []
        while True:
            best = None
            for i in range(len(ids) - 1):
                r = ranks.get((ids[i], ids[i + 1]))
                if r is not None and (best is None or r < best):
                    best = r
            while len(out) < len(limits) and (best is None or best >= limits[len(out)]):
                out.append(ids)  # _merge returns a new list, so this state is kept as it is
            if len(out) == len(limits):
                return out
            ids = _merge(ids, *self.merges[best], self.n_base + best)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (int32); each distinct pre-token is segmented once per call."""
        words, (seq,) = split_words([text])
        return self.encode_words(words, [seq])[0]

    def encode_words(self, words: list[str], seqs: list[np.ndarray]) -> list[np.ndarray]:
        """Token ids (int32) of each text whose pre-tokens are ``words[seq[0]], words[seq[1]], ...``, one array per
        ``seq`` in ``seqs`` (what :func:`split_words` returns, so that splitting the texts once serves every
        tokenizer)."""
        return self.encode_prefixes(words, seqs, [self.V])[self.V]

    def encode_prefixes(self, words: list[str], seqs: list[np.ndarray], sizes) -> dict[int, list[np.ndarray]]:
        """:meth:`encode_words` for the tokenizer of each size in ``sizes`` (:meth:`prefix`) in one pass: each
        distinct word is segmented once for all sizes, and a text's ids are gathered from the segments by numpy
        indexing rather than appended one by one (chapter 14)."""
        sizes = [integer("vocab_size", v, minimum=self.n_base, maximum=self.V) for v in sizes]
        limits = sorted({v - self.n_base for v in sizes})
        ranks = {pair: k for k, pair in enumerate(self.merges[: limits[-1]])}
        index = {ch: i for i, ch in enumerate(self.tokens[: self.n_base])}
        segs = [self._segment(w, ranks, index, limits) for w in words]
        out = {}
        for j, m in enumerate(limits):
            lengths = np.fromiter((len(s[j]) for s in segs), dtype=np.int64, count=len(segs))
            flat = np.fromiter((i for s in segs for i in s[j]), dtype=np.int32, count=int(lengths.sum()))
            starts = np.cumsum(lengths) - lengths  # where each word's segment begins in flat
            texts = []
            for seq in seqs:
                n = lengths[seq]
                begin = np.cumsum(n) - n  # where each pre-token's segment begins in the text's ids
                texts.append(flat[np.repeat(starts[seq] - begin, n) + np.arange(int(n.sum()))])
            out[self.n_base + m] = texts
        return out

    def decode(self, ids) -> str:
        return "".join(map(self.tokens.__getitem__, np.asarray(ids, dtype=np.int64).tolist()))

    def prefix(self, vocab_size: int) -> "Tokenizer":
        """The tokenizer of the first ``vocab_size`` tokens: training is greedy and never looks at the target size,
        so ``train(text, V).prefix(v)`` equals ``train(text, v)`` for any ``v <= V`` (one training serves every
        smaller vocabulary, chapter 14)."""
        vocab_size = integer("vocab_size", vocab_size, minimum=self.n_base, maximum=self.V)
        return Tokenizer(tokens=self.tokens[:vocab_size], n_base=self.n_base,
                         merges=self.merges[: vocab_size - self.n_base])


def split_words(texts: list[str]) -> tuple[list[str], list[np.ndarray]]:
    """The distinct pre-tokens of ``texts`` (:func:`pretokenize`) in order of first occurrence, and per text the
    index into them of each of its pre-tokens in turn: ``"".join(words[i] for i in seqs[t]) == texts[t]``."""
    pieces = [pretokenize(t) for t in texts]
    words = list(dict.fromkeys(w for p in pieces for w in p))
    index = {w: i for i, w in enumerate(words)}
    return words, [np.fromiter(map(index.__getitem__, p), dtype=np.int64, count=len(p)) for p in pieces]


def characters(text: str) -> Tokenizer:
    """The character vocabulary of ``text`` (sorted), as a tokenizer without merges."""
    alphabet = sorted(set(text))
    return Tokenizer(tokens=alphabet, n_base=len(alphabet))


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
