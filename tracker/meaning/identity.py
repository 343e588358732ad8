"""Is this new text the same plan as one we know? Word-shingle fingerprints compared by containment."""

from __future__ import annotations

import hashlib
import math
import re
from array import array
from dataclasses import dataclass
from functools import cached_property

_WORD = re.compile(r"\w+", re.UNICODE)
SHINGLE = 5  # words per shingle: long enough to be specific, short enough to survive edits
SAMPLE = 4  # keep shingles whose hash is 0 mod SAMPLE: a quarter of them, chosen by content, not position
FULL_UP_TO = 2_000  # texts with fewer shingles keep all of them
SAME_PLAN = 0.55  # containment at or above which two texts are versions of one plan
# Names how `fingerprint` works, stored beside each fingerprint: change it whenever the above or the hashing
# changes, and the stored fingerprints are made again instead of compared with new ones.
METHOD = f"blake2b8-shingle{SHINGLE}-sample{SAMPLE}-full{FULL_UP_TO}"
# The sketch: the fingerprint's hashes whose top SKETCH_BITS bits are 0 (1 in 64, independent of the SAMPLE bits),
# stored beside it so that a candidate plan is compared in full only when it could be the same plan.
SKETCH_BITS = 6
SKETCH_MISS = 1e-9  # the prefilter may pass over a true match with at most this probability, else it compares
# Shared hashes from which a sketch holds at least one of them but with probability below SKETCH_MISS: 1,316.
_SKETCH_DECIDES = math.log(SKETCH_MISS) / math.log1p(-(2.0 ** -SKETCH_BITS))


class Fingerprint(frozenset):
    """A text's fingerprint (a frozenset of hashes) that works out once whether it is a sample, and its sample."""

    @cached_property
    def sampled(self) -> bool:
        return _sampled(self)

    @cached_property
    def quarter(self) -> frozenset[int]:
        """The hashes a sample keeps (all of them when this is a sample)."""
        return self if self.sampled else frozenset(h for h in self if h % SAMPLE == 0)


def fingerprint(text: str) -> Fingerprint:
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
    return Fingerprint(hashes)


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
    if not isinstance(a, Fingerprint):
        a = Fingerprint(a)
    if not isinstance(b, Fingerprint):
        b = Fingerprint(b)
    if a.sampled != b.sampled:
        a, b = a.quarter, b.quarter
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


def unpack(data: bytes) -> Fingerprint:
    """The fingerprint `pack` stored."""
    packed = array("Q")
    packed.frombytes(data)
    if array("H", [1]).tobytes() != b"\x01\x00":  # pragma: no cover - big-endian machine
        packed.byteswap()
    return Fingerprint(packed)


@dataclass(frozen=True)
class Summary:
    """What is stored beside a fingerprint to rule candidates in or out without it: the words key, how many hashes
    it has (and how many a sample would keep), whether it is a sample, and its sketch."""

    words: str
    hashes: int
    sampled_hashes: int
    sketch: frozenset[int]

    @property
    def sampled(self) -> bool:
        return self.hashes > 32 and self.sampled_hashes == self.hashes  # as `_sampled` decides it


def summarise(text: str, prints: frozenset[int]) -> Summary:
    """The `Summary` of a text and its fingerprint."""
    return Summary(words=words_key(text), hashes=len(prints), sampled_hashes=sum(1 for h in prints if h % SAMPLE == 0),
                   sketch=frozenset(h for h in prints if h >> (64 - SKETCH_BITS) == 0))


def may_be_same_plan(a: Summary, b: Summary, threshold: float = SAME_PLAN) -> bool:
    """False only when the sketches show that the texts' containment is below `threshold` (wrong with probability
    at most SKETCH_MISS); True when they share a sketched hash, or are too small for their sketches to tell.

    At containment c the texts share c * m hashes (m the smaller fingerprint, both sampled alike as `containment`
    does); each is in both sketches with probability 2**-SKETCH_BITS, so none is with (1 - 2**-SKETCH_BITS)**(c*m).
    Real plans (100,000+ characters, thousands of sampled hashes) are decided by the sketch; short texts, whose
    fingerprints are cheap to compare anyway, are always compared."""
    if not a.hashes or not b.hashes:
        return False  # an empty fingerprint contains nothing (`containment` gives 0)
    mismatched = a.sampled != b.sampled
    smaller = min(a.sampled_hashes, b.sampled_hashes) if mismatched else min(a.hashes, b.hashes)
    shared = math.ceil(threshold * smaller)
    if shared == 0:
        return False
    if shared < _SKETCH_DECIDES:
        return True  # too few hashes for the sketch to rule it out: compare the fingerprints
    sa, sb = a.sketch, b.sketch
    if mismatched:
        sa, sb = (frozenset(h for h in x if h % SAMPLE == 0) for x in (sa, sb))
    return not sa.isdisjoint(sb)


def words_key(text: str) -> str:
    """A hash of a text's words in order, case folded: two renditions of one text (a PDF and its DOCX, another
    producer's page breaks, paragraphs re-flowed) share it; any change of a word does not."""
    return hashlib.blake2b(" ".join(w.casefold() for w in _WORD.findall(text)).encode(), digest_size=16).hexdigest()
