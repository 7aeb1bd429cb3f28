"""Compiled inner loops of the vector formats: parse numbers, print numbers, scan binary rows.

Reading a 400k-word GloVe file means turning some twenty million decimal strings into floats;
doing that one Python object at a time costs tens of seconds. These numba kernels work on the raw
bytes of a block of lines instead.

**Parsing** takes the exact fast path of Clinger's algorithm: a decimal with at most 15
significant digits and a power of ten within 10^±22 is the quotient (or product) of two exactly
representable doubles, so one IEEE division (multiplication) gives the correctly rounded double,
bit for bit what Python's ``float()`` returns. Anything else (more digits, huge exponents,
``nan``, ``inf``, stray characters) is flagged, and the caller re-parses that line in Python,
which also produces the precise error message when the text is not a number.

**Printing** writes each float32 with the fewest significant digits (1 to 9) that read back as the
same float32 through a correctly rounding parser, checked exactly while the power of ten is exact
(|exponent| <= 22) and otherwise nine digits, which always round-trip. Layout follows Python's
``repr``: positional for decimal exponents -4..15, else ``1.5e-07``.

>>> import numpy as np
>>> row = np.array([0.418, -1e-05, 3.0, np.float32(1) / 3], dtype=np.float32)
>>> text = format_block(row.reshape(1, -1), b" ")
>>> text
b'0.418 -1e-05 3 0.33333334\\n'
>>> values = np.zeros((1, 4), np.float32)
>>> st, _, _, _ = parse_block(np.frombuffer(text, np.uint8), 4, False, values)
>>> bool(st[0] == LINE_OK and (values == row).all())
True
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Powers of ten as the nearest doubles (exact up to 1e22), and as integers up to 1e18.
_POW10 = np.array([float(f"1e{i}") for i in range(64)], dtype=np.float64)
_POW10_INT = np.array([10**i for i in range(19)], dtype=np.int64)

LINE_OK, LINE_BLANK, LINE_SLOW, LINE_COUNT = 0, 1, 2, 3
"""Line status: parsed; blank; has a token the fast path leaves to Python; wrong field count."""

MAX_VALUE_CHARS = 17
"""Longest text :func:`format_block` writes for one float32 (``-1234567890123456`` style)."""

_NEWLINE, _SPACE, _TAB, _CR, _VT, _FF = 10, 32, 9, 13, 11, 12
_MINUS, _PLUS, _DOT, _ZERO, _NINE = 45, 43, 46, 48, 57
_LOWER_E, _UPPER_E = 101, 69


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(c: int) -> bool:
    """ASCII whitespace other than newline: the separators ``bytes.split()`` uses."""
    return c in (_SPACE, _TAB, _CR, _VT, _FF)


@numba.njit(cache=True, nogil=True)
def _parse_number(buf: np.ndarray, start: int, end: int) -> tuple[float, bool]:
    """``(value, True)`` for a plain decimal in ``buf[start:end]``, else ``(0.0, False)``."""
    i = start
    negative = False
    if buf[i] == _MINUS or buf[i] == _PLUS:
        negative = buf[i] == _MINUS
        i += 1
    mantissa = 0
    digits = 0
    exponent = 0
    seen_digit = False
    while i < end and _ZERO <= buf[i] <= _NINE:
        seen_digit = True
        d = buf[i] - _ZERO
        if mantissa != 0 or d != 0:
            if digits >= 17:
                return 0.0, False
            mantissa = mantissa * 10 + d
            digits += 1
        i += 1
    if i < end and buf[i] == _DOT:
        i += 1
        while i < end and _ZERO <= buf[i] <= _NINE:
            seen_digit = True
            d = buf[i] - _ZERO
            if mantissa != 0 or d != 0:
                if digits >= 17:
                    return 0.0, False
                mantissa = mantissa * 10 + d
                digits += 1
            exponent -= 1
            i += 1
    if not seen_digit:
        return 0.0, False
    if i < end and (buf[i] == _LOWER_E or buf[i] == _UPPER_E):
        i += 1
        exp_negative = False
        if i < end and (buf[i] == _MINUS or buf[i] == _PLUS):
            exp_negative = buf[i] == _MINUS
            i += 1
        if i >= end:
            return 0.0, False
        e = 0
        while i < end and _ZERO <= buf[i] <= _NINE:
            if e < 100000:
                e = e * 10 + (buf[i] - _ZERO)
            i += 1
        exponent += -e if exp_negative else e
    if i != end:
        return 0.0, False
    if mantissa == 0:
        return (-0.0 if negative else 0.0), True
    if digits > 15:
        return 0.0, False
    if 0 <= exponent <= 22:
        value = mantissa * _POW10[exponent]
    elif -22 <= exponent < 0:
        value = mantissa / _POW10[-exponent]
    else:
        return 0.0, False
    return (-value if negative else value), True


@numba.njit(cache=True, nogil=True)
def _parse_lines(buf, dim, has_word, values, word_start, word_end, line_start, status, fields):
    n = buf.shape[0]
    pos = 0
    line = 0
    while pos < n:
        end = pos
        while end < n and buf[end] != _NEWLINE:
            end += 1
        line_start[line] = pos
        i = pos
        while i < end and _is_space(buf[i]):
            i += 1
        if i == end:
            status[line] = LINE_BLANK
            fields[line] = 0
        else:
            state = LINE_OK
            if has_word:
                word_start[line] = i
                while i < end and not _is_space(buf[i]):
                    i += 1
                word_end[line] = i
            count = 0
            while True:
                while i < end and _is_space(buf[i]):
                    i += 1
                if i >= end:
                    break
                token = i
                while i < end and not _is_space(buf[i]):
                    i += 1
                if count < dim:
                    value, ok = _parse_number(buf, token, i)
                    if ok:
                        values[line, count] = value
                    else:
                        state = LINE_SLOW
                count += 1
            if count != dim:
                state = LINE_COUNT
            status[line] = state
            fields[line] = count
        line += 1
        pos = end + 1
    return line


def parse_block(buf: np.ndarray, dim: int, has_word: bool, values: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse the lines of ``buf`` (uint8) into ``values`` (float32, one row per line).

    Returns per line ``(status, word_start, word_end, line_start)``; ``values`` must have at
    least as many rows as ``buf`` has lines. Rows of lines whose status is not ``LINE_OK`` are
    undefined.
    """
    cap = values.shape[0]
    status = np.empty(cap, np.int8)
    fields = np.empty(cap, np.int32)
    word_start = np.zeros(cap, np.int64)
    word_end = np.zeros(cap, np.int64)
    line_start = np.empty(cap, np.int64)
    n = _parse_lines(buf, dim, has_word, values, word_start, word_end, line_start, status,
                     fields)
    return status[:n], word_start[:n], word_end[:n], line_start[:n]


@numba.njit(cache=True, nogil=True, inline="always")
def _scale(magnitude: float, s: int) -> float:
    """``magnitude * 10**s``, exact whenever the result is representable and |s| <= 22."""
    return magnitude * _POW10[s] if s >= 0 else magnitude / _POW10[-s]


@numba.njit(cache=True, nogil=True)
def _digits(magnitude: float, k: int, precision: int) -> tuple[int, int]:
    """``(m, s)``: ``magnitude`` rounded to ``precision`` digits is ``m * 10**-s``."""
    s = precision - 1 - k
    m = np.int64(np.rint(_scale(magnitude, s)))
    if m >= _POW10_INT[precision]:  # rounding carried into a new digit (9.96 -> 10)
        m //= 10
        s -= 1
    return m, s


@numba.njit(cache=True, nogil=True)
def _reads_back(m: int, s: int, target: np.float32) -> bool:
    """Whether ``m * 10**-s``, parsed with correct rounding, is ``target`` (checked exactly)."""
    if not -22 <= s <= 22:
        return False
    back = m / _POW10[s] if s >= 0 else m * _POW10[-s]
    return np.float32(back) == target


@numba.njit(cache=True, nogil=True)
def _shortest_digits(magnitude: float, target: np.float32) -> tuple[int, int]:
    """``(m, s)`` with ``m * 10**-s`` the shortest decimal that reads back as ``target``.

    Nine digits always read back; fewer are tried by bisection (reading back holds for every
    precision above the shortest one).
    """
    k = math.floor(math.log10(magnitude))  # decimal exponent of the leading digit
    nine = _scale(magnitude, 8 - k)
    if nine >= 1e9:
        k += 1
    elif nine < 1e8:
        k -= 1
    low, high = 1, 9
    while low < high:
        middle = (low + high) // 2
        m, s = _digits(magnitude, k, middle)
        if _reads_back(m, s, target):
            high = middle
        else:
            low = middle + 1
    return _digits(magnitude, k, high)


@numba.njit(cache=True, nogil=True)
def _write_value(out: np.ndarray, o: int, x: np.float32) -> int:
    """Write ``x`` at ``out[o:]``; return the new end."""
    if x != x:
        out[o], out[o + 1], out[o + 2] = 110, 97, 110  # nan
        return o + 3
    value = np.float64(x)
    if math.copysign(1.0, value) < 0:
        out[o] = _MINUS
        o += 1
        value = -value
    if value == math.inf:
        out[o], out[o + 1], out[o + 2] = 105, 110, 102  # inf
        return o + 3
    if value == 0.0:
        out[o] = _ZERO
        return o + 1
    m, s = _shortest_digits(value, np.float32(value))
    while m % 10 == 0:
        m //= 10
        s -= 1
    n_digits = 1
    while n_digits < 18 and m >= _POW10_INT[n_digits]:
        n_digits += 1
    lead = n_digits - 1 - s  # decimal exponent of the leading digit
    if -4 <= lead < 16:
        if lead >= 0:
            for j in range(max(n_digits, lead + 1)):
                if j == lead + 1:
                    out[o] = _DOT
                    o += 1
                digit = (m // _POW10_INT[n_digits - 1 - j]) % 10 if j < n_digits else 0
                out[o] = _ZERO + digit
                o += 1
        else:
            out[o], out[o + 1] = _ZERO, _DOT
            o += 2
            for _ in range(-lead - 1):
                out[o] = _ZERO
                o += 1
            for j in range(n_digits):
                out[o] = _ZERO + (m // _POW10_INT[n_digits - 1 - j]) % 10
                o += 1
        return o
    for j in range(n_digits):
        if j == 1:
            out[o] = _DOT
            o += 1
        out[o] = _ZERO + (m // _POW10_INT[n_digits - 1 - j]) % 10
        o += 1
    out[o] = _LOWER_E
    out[o + 1] = _MINUS if lead < 0 else _PLUS
    o += 2
    e = abs(lead)
    if e >= 10:
        out[o] = _ZERO + e // 10
        o += 1
    else:
        out[o] = _ZERO
        o += 1
    out[o] = _ZERO + e % 10
    return o + 1


@numba.njit(cache=True, nogil=True)
def _format_rows(words, word_offsets, matrix, sep, has_word, trailing_space, out):
    o = 0
    for r in range(matrix.shape[0]):
        if has_word:
            for b in range(word_offsets[r], word_offsets[r + 1]):
                out[o] = words[b]
                o += 1
            out[o] = sep
            o += 1
        for c in range(matrix.shape[1]):
            if c > 0:
                out[o] = sep
                o += 1
            o = _write_value(out, o, matrix[r, c])
        if trailing_space:
            out[o] = _SPACE
            o += 1
        out[o] = _NEWLINE
        o += 1
    return o


def format_block(matrix: np.ndarray, sep: bytes, words: list[bytes] | None = None,
                 trailing_space: bool = False) -> bytes:
    """Lines of text for ``matrix`` (float32), optionally each starting with its word."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    rows, dim = matrix.shape
    joined = b"".join(words) if words is not None else b""
    offsets = np.zeros(rows + 1, np.int64)
    if words is not None:
        np.cumsum([len(w) for w in words], out=offsets[1:])
    out = np.empty(len(joined) + rows * (dim * (MAX_VALUE_CHARS + 1) + 3), np.uint8)
    n = _format_rows(np.frombuffer(joined, np.uint8), offsets, matrix, sep[0],
                     words is not None, trailing_space, out)
    return out[:n].tobytes()


@numba.njit(cache=True, nogil=True)
def _scan_binary(buf, vector_bytes, max_rows, max_word, word_start, word_end, vectors):
    n = buf.shape[0]
    pos = 0
    rows = 0
    while rows < max_rows:
        p = pos
        while p < n and buf[p] == _NEWLINE:
            p += 1
        q = p
        limit = min(n, p + max_word + 1)
        while q < limit and buf[q] != _SPACE:
            q += 1
        if q >= n or q + 1 + vector_bytes > n:
            return rows, pos, 0  # the row continues in the next chunk
        if q == limit:
            return rows, p, 1  # no space after max_word bytes: not a word
        word_start[rows] = p
        word_end[rows] = q
        vectors[rows, :] = buf[q + 1:q + 1 + vector_bytes]
        rows += 1
        pos = q + 1 + vector_bytes
    return rows, pos, 0


def scan_binary(buf: np.ndarray, dim: int, max_rows: int, max_word: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Split complete word2vec binary rows off the front of ``buf`` (uint8).

    Returns ``(word_start, word_end, vectors, consumed_bytes, bad_word)``: ``vectors`` is
    ``rows x dim`` float32 (little-endian in the file); ``bad_word`` says the row at
    ``consumed_bytes`` has no space within ``max_word`` bytes.
    """
    vector_bytes = 4 * dim
    if vector_bytes + 1 > buf.shape[0]:  # not even one row here (and DIM may be huge)
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty((0, dim), np.float32), 0, False
    cap = max(0, min(max_rows, buf.shape[0] // (vector_bytes + 1)))  # a row: word, space, vector
    word_start = np.empty(cap, np.int64)
    word_end = np.empty(cap, np.int64)
    raw = np.empty((cap, vector_bytes), np.uint8)
    rows, consumed, bad = _scan_binary(buf, vector_bytes, cap, max_word, word_start, word_end,
                                       raw)
    vectors = raw[:rows].view("<f4").astype(np.float32, copy=False)
    return word_start[:rows], word_end[:rows], vectors, int(consumed), bool(bad)
