"""The ``tokvec`` command line: a thin layer over the Python API.

Each verb lives in its own module here with a ``register(subparsers)`` function that adds its
parser and sets ``func`` (a callable taking the parsed arguments and returning an exit code).
Errors a user can cause surface as one line on stderr and exit status 2; an interrupt exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import TokvecError

# Verb modules, in the order ``tokvec --help`` lists them.
_VERB_MODULES = (
    "tokenizer", "vocab", "init", "train", "pretrain", "finetune", "predict", "embed",
    "seq2seq", "translate", "neighbors", "evaluate", "align", "train_parallel", "info", "io",
    "sweep", "plot",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="tokvec", description="Turn discrete tokens into dense vectors and use them.")
    parser.add_argument("--version", action="version", version=f"tokvec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _VERB_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # verb not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tokvec`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except TokvecError as exc:
        print(f"tokvec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tokvec {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"tokvec {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped into e.g. `head`: exit quietly, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"tokvec {args.command}: error: {name}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
