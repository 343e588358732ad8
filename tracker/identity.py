"""Is this new text the same plan as one we know? Word-shingle fingerprints compared by containment."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+", re.UNICODE)
SHINGLE = 5  # words per shingle: long enough to be specific, short enough to survive edits
SAMPLE = 4  # keep shingles whose hash is 0 mod SAMPLE: a quarter of them, chosen by content, not position
MAX_SHINGLES = 20_000
SAME_PLAN = 0.55  # containment at or above which two texts are versions of one plan


def fingerprint(text: str) -> frozenset[int]:
    """A content-chosen sample of hashed word shingles; stable across re-wrapping and small edits."""
    words = [w.lower() for w in _WORD.findall(text)]
    out: set[int] = set()
    for i in range(max(0, len(words) - SHINGLE + 1)):
        digest = hashlib.blake2b(" ".join(words[i:i + SHINGLE]).encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        if value % SAMPLE == 0:
            out.add(value)
            if len(out) >= MAX_SHINGLES:
                break
    if not out and words:  # very short texts: every shingle (or the words themselves) count
        out = {int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "big") for w in words}
    return frozenset(out)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller fingerprint found in the larger one (1.0: one text contains the other)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
