# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Native twin of the hot path (``llmspell_sessions.hotpath._native``): the FastCDC 2020 kernel.

The algorithm is defined, and documented for other languages, in ``hotpath/_pure.py``; this module
must give the same results. Arguments are validated by the selector (``hotpath/__init__.py``).
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint8_t, uint64_t

include "gear_table.pxi"

cdef enum:
    # Below this size the GIL is kept: the scan takes ~20 us or less, while getting the GIL back
    # after releasing it can wait out another thread's switch interval (5 ms), far more than that.
    NOGIL_THRESHOLD = 65536
    # Length of each lane's block in _scan; the 47-byte warm-up costs ~1% at this size.
    LANE_BLOCK = 4096
    # Bytes that decide the masked bits of the gear hash: every mask lies below bit 48, and a
    # byte k steps back is shifted left k bits, so bytes 48 or more steps back drop out.
    WINDOW = 48


cdef inline Py_ssize_t _scan_serial(const uint8_t* src, Py_ssize_t i, Py_ssize_t end, uint64_t mask,
                                    uint64_t* hash) noexcept nogil:
    """Rolls the gear hash over ``src[i:end]``; returns the first index where it matches ``mask``, or end."""
    cdef uint64_t h = hash[0]
    # Unrolled by four so the loop test does not cost as much as the hash step.
    while i + 4 <= end:
        h = (h << 1) + LLMSPELL_GEAR[src[i]]
        if (h & mask) == 0:
            return i
        h = (h << 1) + LLMSPELL_GEAR[src[i + 1]]
        if (h & mask) == 0:
            return i + 1
        h = (h << 1) + LLMSPELL_GEAR[src[i + 2]]
        if (h & mask) == 0:
            return i + 2
        h = (h << 1) + LLMSPELL_GEAR[src[i + 3]]
        if (h & mask) == 0:
            return i + 3
        i += 4
    while i < end:
        h = (h << 1) + LLMSPELL_GEAR[src[i]]
        if (h & mask) == 0:
            return i
        i += 1
    hash[0] = h
    return end


cdef inline Py_ssize_t _scan(const uint8_t* src, Py_ssize_t i, Py_ssize_t end, uint64_t mask,
                             uint64_t* hash) noexcept nogil:
    """Same result as ``_scan_serial``, about twice as fast: two hash lanes run interleaved.

    The serial hash is one dependent add per byte, so a core is latency-bound at ~1 byte/cycle.
    Here lane A scans a block while lane B scans the next one; B starts from 0 just WINDOW - 1
    bytes before its block, which gives it the same masked bits as the serial hash (see WINDOW),
    so it finds the same matches. A match of A is the earliest; after a match of B, A finishes
    its block alone and the earlier of the two wins. Only the hash's bits below 48 are carried on.
    """
    cdef uint64_t ha = hash[0]
    cdef uint64_t hb
    cdef Py_ssize_t a, b, t, found
    while end - i >= 2 * LANE_BLOCK:
        a = i
        b = i + LANE_BLOCK
        hb = 0
        for t in range(b - (WINDOW - 1), b):
            hb = (hb << 1) + LLMSPELL_GEAR[src[t]]
        for t in range(LANE_BLOCK):
            ha = (ha << 1) + LLMSPELL_GEAR[src[a + t]]
            if (ha & mask) == 0:
                return a + t
            hb = (hb << 1) + LLMSPELL_GEAR[src[b + t]]
            if (hb & mask) == 0:
                found = _scan_serial(src, a + t + 1, b, mask, &ha)
                return found if found < b else b + t
        ha = hb
        i = b + LANE_BLOCK
    hash[0] = ha
    return _scan_serial(src, i, end, mask, hash)


cdef Py_ssize_t _cut(const uint8_t* src, Py_ssize_t n, Py_ssize_t min_size, Py_ssize_t avg_size,
                     Py_ssize_t max_size, uint64_t mask_s, uint64_t mask_l) noexcept nogil:
    """The length of the chunk that starts at ``src``, given ``n`` bytes (see ``_pure._cut``)."""
    cdef Py_ssize_t center, i
    cdef uint64_t h = 0
    if n <= min_size:
        return n
    if n > max_size:
        n = max_size
    center = avg_size if avg_size < n else n
    i = _scan(src, min_size, center, mask_s, &h)
    if i < center:
        return i
    return _scan(src, center, n, mask_l, &h)


cdef Py_ssize_t _cuts(const uint8_t* src, Py_ssize_t total, Py_ssize_t min_size, Py_ssize_t avg_size,
                      Py_ssize_t max_size, uint64_t mask_s, uint64_t mask_l, bint final,
                      Py_ssize_t* out) noexcept nogil:
    """Writes the chunk end offsets of ``src[0:total]`` to ``out``; returns how many."""
    cdef Py_ssize_t start = 0
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t remaining, size
    while start < total:
        remaining = total - start
        size = _cut(src + start, remaining, min_size, avg_size, max_size, mask_s, mask_l)
        if not final and size == remaining and remaining < max_size:
            break
        start += size
        out[count] = start
        count += 1
    return count


def find_cuts(const unsigned char[::1] data, Py_ssize_t min_size, Py_ssize_t avg_size,
              Py_ssize_t max_size, uint64_t mask_s, uint64_t mask_l, bint final) -> list:
    """Chunk end offsets in ``data``, ascending; same contract as ``_pure.find_cuts``."""
    cdef Py_ssize_t total = data.shape[0]
    cdef Py_ssize_t count, k
    cdef Py_ssize_t* out
    cdef const uint8_t* src
    if total == 0:
        return []
    src = &data[0]
    # Every chunk but the last has at least min_size bytes.
    out = <Py_ssize_t*> PyMem_Malloc((total // min_size + 1) * sizeof(Py_ssize_t))
    if out == NULL:
        raise MemoryError()
    try:
        if total >= NOGIL_THRESHOLD:
            with nogil:
                count = _cuts(src, total, min_size, avg_size, max_size, mask_s, mask_l, final, out)
        else:
            count = _cuts(src, total, min_size, avg_size, max_size, mask_s, mask_l, final, out)
        return [out[k] for k in range(count)]
    finally:
        PyMem_Free(out)
