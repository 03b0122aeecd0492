"""A real text for the neural experiments, the King James Version, checksummed (chapter 14).

The corpus is the King James Version of the Bible (1611; public domain) as shipped by Debian's ``bible-kjv-text``
package, extracted with the package's reader, normalised (:func:`normalise`) and committed as
``data/kjv/kjv.txt.xz`` with its provenance in ``data/kjv/PROVENANCE.md``. :func:`load_text` decompresses it and
refuses a file whose SHA-256 differs from the recorded one; :func:`split` cuts it into a fixed training and
validation split by blocks of verses.
"""

from __future__ import annotations

import hashlib
import lzma
import re
from pathlib import Path

from rlbits.validate import integer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "kjv" / "kjv.txt.xz"
#: SHA-256 of the committed compressed file and of the decompressed text (UTF-8 bytes); see PROVENANCE.md.
SHA256_XZ = "a88661f71981d6561f44ead199e51509780f69c1c1a636deb7d10935c9ce4439"
SHA256_TEXT = "86db6c240d7cf46e013c8de0cecbc0c1302c668d1954282a40eda8b32c52fda4"
#: Verses per block of the split, and every ``VALID_EVERY``-th block (counting from 0) goes to validation.
BLOCK = 100
VALID_EVERY = 10

_VERSE = re.compile(r"^\s+\d+\s+(.*)$")


def normalise(raw: str) -> str:
    """The reader's output (``bible -l0 gen1:1-rev22:21``) as one lower-case verse per line.

    Chapter headings ("Genesis 1") and verse numbers are dropped, runs of white space become one space, and the
    text is lower-cased; punctuation is kept.
    """
    verses = []
    for line in raw.split("\n"):
        m = _VERSE.match(line)
        if m:
            verses.append(" ".join(m.group(1).split()).lower())
    if not verses:
        raise ValueError("normalise: no verses found (expected lines like '  1 In the beginning ...')")
    return "\n".join(verses) + "\n"


def sha256(data: bytes) -> str:
    """The SHA-256 checksum of ``data``, in hex (how the corpus files are pinned)."""
    return hashlib.sha256(data).hexdigest()


def load_text(path: Path | None = None, *, check: bool = True) -> str:
    """The normalised corpus, decompressed; with ``check`` both SHA-256 sums must match the recorded ones."""
    path = Path(path or CORPUS)
    blob = path.read_bytes()
    if check and sha256(blob) != SHA256_XZ:
        raise ValueError(f"{path}: SHA-256 {sha256(blob)} differs from the recorded {SHA256_XZ}")
    text = lzma.decompress(blob)
    if check and sha256(text) != SHA256_TEXT:
        raise ValueError(f"{path}: decompressed SHA-256 {sha256(text)} differs from the recorded {SHA256_TEXT}")
    return text.decode("utf-8")


def split(text: str, block: int = BLOCK, valid_every: int = VALID_EVERY) -> tuple[str, str]:
    """Training and validation text: verses in blocks of ``block``; block ``i`` is validation when
    ``i % valid_every == valid_every - 1`` (so about one verse in ``valid_every``, in contiguous stretches)."""
    block = integer("block", block, minimum=1)
    valid_every = integer("valid_every", valid_every, minimum=2)
    verses = text.rstrip("\n").split("\n")
    train, valid = [], []
    for i in range(0, len(verses), block):
        (valid if (i // block) % valid_every == valid_every - 1 else train).extend(verses[i:i + block])
    return "\n".join(train) + "\n", "\n".join(valid) + "\n"
