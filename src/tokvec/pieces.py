"""Token pieces as a person reads them.

Byte-level BPE (GPT-2's scheme, tokvec's ``bpe`` kind) stores each piece as a string of stand-in
characters, one per byte: a leading space becomes ``Ġ`` and the two bytes of ``é`` become
``Ã©``. :func:`readable_piece` turns such a piece back into its text, with the word-boundary
space shown as ``▁`` (U+2581, the marker SentencePiece and tokvec's ``unigram`` kind use), other
whitespace and control bytes as ``<0x0A>``-style escapes, and bytes that are only part of a
UTF-8 character (a character split across pieces) as ``<0xE4>``-style escapes, so the output of
``tokvec tokenizer encode`` stays one space-separated line per input line.

>>> readable_piece("Ġcaf")
'▁caf'
>>> readable_piece("Ã©")
'é'
>>> readable_piece("Ġä")  # the first of the three bytes of a CJK character
'▁<0xE4>'
"""

from __future__ import annotations

from functools import lru_cache

BOUNDARY = "\u2581"


@lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """The inverse of byte-level BPE's byte -> stand-in character table."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def _escape(data: bytes) -> str:
    return "".join(f"<0x{b:02X}>" for b in data)


def _render(data: bytes) -> str:
    """UTF-8 text of ``data``; space as the boundary marker, the rest escaped where unreadable."""
    out: list[str] = []
    i = 0
    while i < len(data):
        b = data[i]
        width = 1 if b < 0x80 else 2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else \
            4 if 0xF0 <= b < 0xF8 else 0
        chunk = data[i:i + width] if width else data[i:i + 1]
        try:
            char = chunk.decode("utf-8") if width and len(chunk) == width else None
        except UnicodeDecodeError:
            char = None
        if char is None:
            out.append(_escape(data[i:i + 1]))
            i += 1
            continue
        if char == " ":
            out.append(BOUNDARY)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_escape(chunk))
        i += width
    return "".join(out)


def readable_piece(piece: str) -> str:
    """A byte-level BPE piece as text (see the module docstring); other strings unchanged."""
    table = _byte_of_char()
    if not all(c in table for c in piece):
        return piece  # a special token such as [CLS], or not a byte-level piece
    return _render(bytes(table[c] for c in piece))


def readable_pieces(kind: str, pieces: list[str]) -> list[str]:
    """``pieces`` of a tokenizer of ``kind`` as a person reads them (only ``bpe`` changes).

    >>> readable_pieces("bpe", ["[CLS]", "ĠHello", ",", "Ġworld"])
    ['[CLS]', '▁Hello', ',', '▁world']
    >>> readable_pieces("wordpiece", ["hel", "##lo"])
    ['hel', '##lo']
    """
    if kind != "bpe":
        return pieces
    return [readable_piece(p) for p in pieces]
