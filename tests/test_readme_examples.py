"""The README's worked examples run as written.

In CI every ``tokvec`` command of the README's "Worked examples" parses against the CLI (its
verbs and flags exist) and every Python example compiles. ``pytest -m slow
tests/test_readme_examples.py`` runs them all, in README order, from the repository root after
``./scripts/quickstart.sh`` has fetched ``data/`` (about 20 minutes on two cores).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tokvec.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")
_ASSIGNMENT = re.compile(r"^(\w+=\S*\s*)+$")
_SHELL_HELPERS = {"head"}  # plain shell lines between tokvec commands (e.g. picking 3 lines)


def example_blocks(lang: str, section: str = "## Worked examples") -> list[tuple[int, str]]:
    """``(first line number, code)`` of each ``lang`` block under the heading ``section``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(section))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    blocks, current, first, fence = [], [], 0, None
    for i in range(start, end):
        match = _FENCE.match(lines[i])
        if match and fence is None:
            fence, first, current = match.group(1), i + 2, []
        elif lines[i].strip() == "```" and fence is not None:
            if fence == lang:
                blocks.append((first, "\n".join(current)))
            fence = None
        elif fence is not None:
            current.append(lines[i])
    return blocks


def example_commands(section: str = "## Worked examples") -> list[tuple[int, str]]:
    """Each shell command of a section's examples (continuation lines joined, variable
    assignments left out), with its line number."""
    commands = []
    for first, code in example_blocks("bash", section):
        pending, at = "", first
        for offset, line in enumerate(code.splitlines()):
            if not pending:
                at = first + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            shell_helper = command.split(" ", 1)[0] in _SHELL_HELPERS
            if command and not command.startswith("#") and not _ASSIGNMENT.match(command) \
                    and not shell_helper:
                commands.append((at, command))
    return commands


def tokvec_argv(command: str) -> list[str]:
    """The arguments given to ``tokvec`` by ``command`` (through ``timeout`` or ``torchrun``)."""
    argv = shlex.split(command, comments=True)
    if argv[0] == "timeout":
        argv = argv[argv.index("tokvec"):]
    elif argv[0] == "torchrun":
        argv = ["tokvec", *argv[argv.index("tokvec.cli") + 1:]]
    assert argv[0] == "tokvec", f"not a tokvec command: {command}"
    return argv[1:]


COMMANDS = example_commands()
# The multilingual and translation examples use the benchmark data beside the checkout:
# parsed, not run.
PARSED_ONLY = example_commands("## Several languages") + example_commands("## Translation")


def test_the_readme_has_examples_for_every_verb():
    verbs = {tokvec_argv(c)[0] for _, c in COMMANDS}
    assert {"tokenizer", "vocab", "init", "info", "import", "export", "train", "neighbors",
            "analogy", "similarity", "evaluate", "pretrain", "embed", "finetune", "predict",
            "sweep", "map", "plot"} <= verbs
    assert len(COMMANDS) >= 40


@pytest.mark.parametrize(("line", "command"), COMMANDS + PARSED_ONLY,
                         ids=[f"README:{n}" for n, _ in COMMANDS + PARSED_ONLY])
def test_readme_command_parses(line, command, capsys):
    parser = build_parser()
    try:
        parser.parse_args(tokvec_argv(command))
    except SystemExit:
        pytest.fail(f"README.md:{line}: {command}\n{capsys.readouterr().err}")


def test_readme_python_examples_compile():
    blocks = example_blocks("python")
    assert blocks
    for first, code in blocks:
        compile(code, f"README.md:{first}", "exec")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


@pytest.mark.slow
def test_readme_examples_run_as_written():
    if not (ROOT / "data" / "corpus.txt").is_file():
        pytest.skip("run ./scripts/quickstart.sh first: the examples use the data it fetches")
    failures = []
    for line, command in COMMANDS:
        print(f"README.md:{line}: {command}", flush=True)
        done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=_env(),
                              capture_output=True, text=True)
        # `timeout -s INT N tokvec train ...` stops training on purpose: 124 is its success.
        ok = {0, 124} if command.startswith("timeout") else {0}
        if done.returncode not in ok:
            failures.append(f"README.md:{line}: exit {done.returncode}: {command}\n"
                            f"{done.stderr[-2000:]}")
    for first, code in example_blocks("python"):
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                              capture_output=True, text=True)
        if done.returncode != 0:
            failures.append(f"README.md:{first}: python example failed\n{done.stderr[-2000:]}")
    assert not failures, "\n\n".join(failures)
