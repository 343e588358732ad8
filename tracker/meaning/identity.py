"""Is this new text the same plan as one we know? Word-shingle fingerprints compared by containment."""

from __future__ import annotations

import hashlib
import re
from array import array

_WORD = re.compile(r"\w+", re.UNICODE)
SHINGLE = 5  # words per shingle: long enough to be specific, short enough to survive edits
SAMPLE = 4  # keep shingles whose hash is 0 mod SAMPLE: a quarter of them, chosen by content, not position
FULL_UP_TO = 2_000  # texts with fewer shingles keep all of them
SAME_PLAN = 0.55  # containment at or above which two texts are versions of one plan
# Names how `fingerprint` works, stored beside each fingerprint: change it whenever the above or the hashing
# changes, and the stored fingerprints are made again instead of compared with new ones.
METHOD = f"blake2b8-shingle{SHINGLE}-sample{SAMPLE}-full{FULL_UP_TO}"


def fingerprint(text: str) -> frozenset[int]:
    """Hashed word shingles (a content-chosen sample of them for long texts); stable across re-wrapping."""
    words = [w.lower() for w in _WORD.findall(text)]
    hashes = {
        int.from_bytes(hashlib.blake2b(" ".join(words[i:i + SHINGLE]).encode(), digest_size=8).digest(), "big")
        for i in range(max(0, len(words) - SHINGLE + 1))
    }
    if len(hashes) > FULL_UP_TO:
        # Sampling by hash value keeps the same shingles from both texts, so containment stays unbiased.
        hashes = {h for h in hashes if h % SAMPLE == 0}
    if not hashes and words:  # fewer words than a shingle: the words themselves
        hashes = {int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "big") for w in words}
    return frozenset(hashes)


def _sampled(prints: frozenset[int]) -> bool:
    """Whether a fingerprint is a sample (every hash 0 mod SAMPLE: by chance only for a handful of hashes)."""
    return len(prints) > 32 and all(h % SAMPLE == 0 for h in prints)


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller fingerprint found in the larger one (1.0: one text contains the other).

    A long text's fingerprint is a sample; a short one's is whole. Compared as they are, a short plan inside a long
    board pack would score about 1/SAMPLE: the whole one is sampled the same way first.
    """
    if not a or not b:
        return 0.0
    if _sampled(a) != _sampled(b):
        a, b = (frozenset(h for h in x if h % SAMPLE == 0) for x in (a, b))
        if not a or not b:
            return 0.0
    return len(a & b) / min(len(a), len(b))


def pack(prints: frozenset[int]) -> bytes:
    """A fingerprint as bytes to store (sorted unsigned 64-bit integers, little-endian)."""
    packed = array("Q", sorted(prints))
    if packed.itemsize != 8:  # pragma: no cover - every platform we run on has 8-byte "Q"
        raise RuntimeError("array 'Q' is not 8 bytes here")
    if array("H", [1]).tobytes() != b"\x01\x00":  # pragma: no cover - big-endian machine
        packed.byteswap()
    return packed.tobytes()


def unpack(data: bytes) -> frozenset[int]:
    """The fingerprint `pack` stored."""
    packed = array("Q")
    packed.frombytes(data)
    if array("H", [1]).tobytes() != b"\x01\x00":  # pragma: no cover - big-endian machine
        packed.byteswap()
    return frozenset(packed)


def words_key(text: str) -> str:
    """A hash of a text's words in order, case folded: two renditions of one text (a PDF and its DOCX, another
    producer's page breaks, paragraphs re-flowed) share it; any change of a word does not."""
    return hashlib.blake2b(" ".join(w.casefold() for w in _WORD.findall(text)).encode(), digest_size=16).hexdigest()
