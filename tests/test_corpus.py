"""The King James Version corpus of chapter 14: checksums, normalisation and the fixed split."""

import hashlib
import lzma

import pytest

from rlbits import corpus


def test_committed_file_and_text_match_their_checksums():
    blob = corpus.CORPUS.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == corpus.SHA256_XZ
    text = lzma.decompress(blob)
    assert hashlib.sha256(text).hexdigest() == corpus.SHA256_TEXT
    assert len(text) >= 1_000_000
    assert corpus.CORPUS.stat().st_size < 3_000_000
    prov = (corpus.CORPUS.parent / "PROVENANCE.md").read_text()
    assert corpus.SHA256_XZ in prov and corpus.SHA256_TEXT in prov and "bible-kjv-text" in prov


def test_load_refuses_a_changed_file(tmp_path):
    bad = tmp_path / "kjv.txt.xz"
    bad.write_bytes(lzma.compress(b"in the beginning\n"))
    with pytest.raises(ValueError, match="SHA-256"):
        corpus.load_text(bad)


def test_text_is_normalised_and_split_is_fixed():
    text = corpus.load_text()
    assert text.startswith("in the beginning god created the heaven and the earth.\n")
    assert text.count("\n") == 31102 and not any(c.isdigit() or c.isupper() for c in text)
    train, valid = corpus.split(text)
    assert len(train) + len(valid) == len(text)
    assert 0.08 < len(valid) / len(text) < 0.12
    assert set(valid) <= set(train)
    verses = text.rstrip("\n").split("\n")
    assert valid.split("\n")[0] == verses[900]  # block 9 (verses 900-999) is the first held-out block


def test_normalise_drops_headings_and_numbers():
    raw = "\nGenesis 1\n\n  1 In the  beginning.\n  2 And\tGod said, Let.\n"
    assert corpus.normalise(raw) == "in the beginning.\nand god said, let.\n"
    with pytest.raises(ValueError):
        corpus.normalise("no verses here")
