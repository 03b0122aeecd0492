"""The byte-pair encoder of chapter 14: round trip, number of merges, determinism, and the training segmentation."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlbits import bpe
from rlbits.validate import ParameterError

TEXT = ("and god said, let there be light: and there was light.\nand god saw the light, that it was good.\n" * 20
        + "the lord is my shepherd; i shall not want.\n" * 7)


def test_pretokens_cover_the_text():
    assert "".join(bpe.pretokenize(TEXT)) == TEXT
    assert bpe.pretokenize("and god said, let") == ["and", " god", " said", ",", " let"]


def test_merges_count_vocab_and_round_trip():
    tok = bpe.train(TEXT, 60)
    assert tok.V == 60 and len(tok.merges) == 60 - tok.n_base
    assert tok.n_base == len(set(TEXT))
    ids = tok.encode(TEXT)
    assert ids.dtype == np.int32 and ids.max() < tok.V
    assert tok.decode(ids) == TEXT
    assert len(ids) < len(TEXT) / 2  # merges compress


def test_deterministic_and_first_merge_is_the_most_frequent_pair():
    a, b = bpe.train(TEXT, 50), bpe.train(TEXT, 50)
    assert a.tokens == b.tokens and a.merges == b.merges
    pairs = Counter()
    for w, c in Counter(bpe.pretokenize(TEXT)).items():
        for x, y in zip(w, w[1:]):
            pairs[x + y] += c
    best = max(pairs.values())
    first = a.tokens[a.n_base]
    assert pairs[first] == best
    assert first == min(p for p, c in pairs.items() if c == best)  # ties: smallest pair of ids (sorted alphabet)


def test_more_merges_never_lengthen_the_encoding():
    lengths = [len(bpe.train(TEXT, v).encode(TEXT)) for v in (30, 40, 60, 75)]
    assert lengths == sorted(lengths, reverse=True)


@given(st.text(alphabet="abdegilnorst ,.\n", max_size=60))
def test_round_trip_on_any_text_over_the_alphabet(s):
    tok = bpe.train(TEXT, 70)
    assert tok.decode(tok.encode(s)) == s


def test_bad_inputs():
    with pytest.raises(ParameterError, match="vocab_size"):
        bpe.train(TEXT, 5)
    with pytest.raises(ParameterError, match="alphabet"):
        bpe.train(TEXT, 40).encode("xyz")
    with pytest.raises(ParameterError, match="vocab_size"):
        bpe.train("ab ab", 50)


def _reference_encode(tok, text):
    """The plain encoder: per pre-token, apply the lowest-ranked merge present until none is."""
    ranks = {pair: k for k, pair in enumerate(tok.merges)}
    out = []
    for w in bpe.pretokenize(text):
        ids = [tok.tokens.index(ch) for ch in w]
        while True:
            found = [(ranks[p], i) for i, p in enumerate(zip(ids, ids[1:])) if p in ranks]
            if not found:
                break
            r = min(found)[0]
            ids = bpe._merge(ids, *tok.merges[r], tok.n_base + r)
        out.extend(ids)
    return out


def test_prefix_is_the_smaller_training_and_encodes_alike():
    big = bpe.train(TEXT, 75)
    for v in (big.n_base, 30, 50, 74, 75):
        small = bpe.train(TEXT, v)
        pre = big.prefix(v)
        assert (pre.tokens, pre.n_base, pre.merges) == (small.tokens, small.n_base, small.merges)
        assert pre.encode(TEXT).tolist() == _reference_encode(small, TEXT)
    with pytest.raises(ParameterError, match="vocab_size"):
        big.prefix(76)


def test_one_pass_encodes_every_prefix_of_several_texts():
    big = bpe.train(TEXT, 75)
    texts = [TEXT, "the lord said, let there be good light.\n", ""]
    words, seqs = bpe.split_words(texts)
    assert len(set(words)) == len(words)
    assert ["".join(words[i] for i in seq) for seq in seqs] == texts
    out = big.encode_prefixes(words, seqs, [75, 30, big.n_base])
    assert sorted(out) == [big.n_base, 30, 75]
    for v, arrays in out.items():
        for text, ids in zip(texts, arrays):
            assert ids.dtype == np.int32
            assert ids.tolist() == _reference_encode(big.prefix(v), text)
