"""``tokvec plot`` (training curves) and ``tokvec map`` (2-D vocabulary map)."""

from __future__ import annotations

import argparse
import sys

from ..plots import METHODS, plot_training_curves
from ..plots.vocabmap import plot_model_map
from .common import nonneg_int, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="plot a model's training curves",
                       description="Draw loss, learning rate and speed against progress (and "
                                   "dev metrics per epoch for task models) from "
                                   "MODEL_DIR/training.jsonl into a PNG.")
    p.add_argument("model", metavar="MODEL_DIR", help="a model directory trained by tokvec")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png", help="output PNG file")
    p.add_argument("--title", help="figure title (default: the model's name and settings)")
    p.set_defaults(func=_plot)

    m = sub.add_parser("map", help="draw a 2-D map of a model's vocabulary",
                       description="Project the most frequent ordinary words (or a listed "
                                   "set) to 2-D and draw them labelled into a PNG. Works for "
                                   "static models and, through their input embedding table, "
                                   "for contextual ones.")
    m.add_argument("model", metavar="MODEL_DIR", help="a static or contextual model directory")
    m.add_argument("-o", "--output", required=True, metavar="FILE.png", help="output PNG file")
    which = m.add_mutually_exclusive_group()
    which.add_argument("--words", type=positive_int, default=300, metavar="N",
                       help="how many of the most frequent ordinary words (default 300)")
    which.add_argument("--list", metavar="FILE",
                       help="map these words instead (UTF-8, one per line, # comments)")
    m.add_argument("--method", choices=METHODS, default="pca",
                   help="projection: pca (numpy, default), tsne (needs scikit-learn), umap "
                        "(needs umap-learn)")
    m.add_argument("--seed", type=nonneg_int, default=0, help="seed for t-SNE/UMAP (default 0)")
    m.set_defaults(func=_map)


def _plot(args: argparse.Namespace) -> int:
    path = plot_training_curves(args.model, args.output, title=args.title)
    print(f"training curves written to {path}", file=sys.stderr)
    return 0


def _map(args: argparse.Namespace) -> int:
    result = plot_model_map(args.model, args.output, n_words=args.words, word_list=args.list,
                            method=args.method, seed=args.seed)
    if result["missing"]:
        shown = ", ".join(result["missing"][:10])
        more = " ..." if len(result["missing"]) > 10 else ""
        print(f"warning: {len(result['missing'])} listed words are not in the vocabulary, "
              f"skipped: {shown}{more}", file=sys.stderr)
    print(f"map of {len(result['words'])} words written to {result['output']}",
          file=sys.stderr)
    return 0
