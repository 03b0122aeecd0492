"""Rebuild data/kjv/kjv.txt.xz from Debian's bible-kjv-text package (see PROVENANCE.md).

    apt-get install -y bible-kjv-text          # as root; pulls in the reader, bible-kjv
    bible -l0 gen1:1-rev22:21 > /tmp/kjv-raw.txt
    PYTHONPATH=. python data/kjv/make_corpus.py /tmp/kjv-raw.txt
"""

import lzma
import sys
from pathlib import Path

from rlbits import corpus

raw = Path(sys.argv[1]).read_text()
text = corpus.normalise(raw).encode("utf-8")
blob = lzma.compress(text, preset=9 | lzma.PRESET_EXTREME)
corpus.CORPUS.write_bytes(blob)
print(f"{len(text):,} bytes of text, {len(blob):,} compressed")
print("SHA-256 compressed:  ", corpus.sha256(blob))
print("SHA-256 decompressed:", corpus.sha256(text))
