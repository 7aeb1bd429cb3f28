"""Kill and resume: SIGKILL ``tokvec train``, ``pretrain`` and ``finetune`` at random points.

Each case is first run once, uninterrupted, from the command line (the reference). Then the same
command runs in a subprocess and is killed with SIGKILL, at a seeded random point chosen in one of
these ways (``Kill.mode``):

``early``   a random delay after the process starts, before the reference run's first save
            (start-up, corpus preparation, the first epoch or chunk);
``train``   a random delay after the first save this process makes, spread over the rest of the
            reference run: inside an epoch (or chunk, or step) later on;
``ckpt``    when the k-th checkpoint write shows up (its hidden ``.checkpoint.*.tmp`` directory),
            plus 0-3 ms: during the checkpoint write, or just after it;
``final``   when the k-th replacement of the whole output directory shows up (its hidden
            ``.OUT.*.tmp`` beside it; for train and pretrain that is the final save, for finetune
            also the saves of better weights), plus 0-3 ms;
``done``    as soon as the final model directory is in place: the clean-up after it.

After every kill the output is checked: no half-written model directory (absent, a complete
loadable model, or for pretrain the in-progress directory that no loader accepts), any checkpoint
complete and readable, leftovers only hidden ``*.tmp`` (or ``.OUT.work.trash``) directories.
The run then continues with ``--resume``. When there is no checkpoint yet the verb must say so
in one line (exit 2) and the run starts afresh; when the kill came after the model was complete,
``--resume`` either finishes the clean-up from the last checkpoint (train) or says there is
nothing to resume (pretrain, finetune). Once a run completes, its tables must equal the
reference bit for bit (everything is seeded and runs on one thread) and ``training.jsonl`` must
match the reference line for line in its deterministic fields: resuming neither skipped nor
repeated a step.

The default (CI) run kills each case once or twice; ``pytest -m slow tests/test_kill_resume.py``
runs the long version: rounds of five kills (early, ckpt, train, final, done, in that order)
until each verb has taken about 20, and checks that they hit a checkpoint write and a
replacement of the output directory.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file
from test_classify_train import make_rows, write_tsv
from test_contextual_pretrain import _corpus as write_pretrain_corpus
from test_train_helpers import write_group_corpus

from tokvec.atomic import atomic_dir, exchange, restore_interrupted
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model

NOTHING_TO_RESUME = re.compile(r"nothing to resume|no checkpoint to resume from")
RUN_TIMEOUT = 240.0  # seconds for any one process; the runs take a few seconds
POLL = 0.0002  # seconds between looks at the file system while waiting to kill


# ----- the cases ------------------------------------------------------------------------------
class Case:
    """One verb with fixed, seeded, single-thread settings."""

    name = ""

    def __init__(self, data: Path) -> None:
        self.data = data

    def argv(self, out: Path) -> list[str]:
        raise NotImplementedError

    def checkpoint(self, out: Path) -> Path:
        """The checkpoint directory (its temporaries appear beside it)."""
        return out / "checkpoint"

    def check_checkpoint(self, out: Path) -> dict[str, Any] | None:
        """Read the checkpoint with the verb's own reader; its state, or None if there is none."""
        raise NotImplementedError

    def check_in_progress(self, out: Path) -> None:
        """``out`` exists without config.json: only allowed where the verb works inside it."""
        raise AssertionError(f"half-written output directory: {sorted(_names(out))}")

    def leftovers(self, out: Path) -> list[Path]:
        """Run state that must be gone once the run has finished."""
        return [self.checkpoint(out)]

    def finished_model(self, out: Path) -> bool:
        """The final model directory is in place (clean-up may remain)."""
        return _complete(out) and not self.checkpoint(out).exists()

    def compare(self, out: Path, ref: Path) -> None:
        for name in self.tensor_files:
            _same_tensors(out / name, ref / name)
        assert (out / "tokenizer.json").read_bytes() == (ref / "tokenizer.json").read_bytes()

    tensor_files: tuple[str, ...] = ()

    def log_rows(self, out: Path) -> list[dict[str, Any]]:
        text = (out / "training.jsonl").read_text(encoding="utf-8")
        assert text.endswith("\n"), "training.jsonl ends in a partial line"
        return [json.loads(line) for line in text.splitlines()]

    def check_log(self, out: Path, ref: Path, resumed_from: list[dict[str, Any]]) -> None:
        raise NotImplementedError


class TrainCase(Case):
    """``tokvec train``: the model directory appears at the end; the work is in ``OUT.work``."""

    fields = ("step", "epoch", "progress", "words_done", "loss", "examples", "lr")
    tensor_files = ("embeddings.safetensors",)

    def __init__(self, data: Path, method: str, seed: int = 3) -> None:
        super().__init__(data)
        self.method, self.seed, self.name = method, seed, f"train-{method}"
        self.corpus = data / "groups.txt"
        if not self.corpus.exists():
            # ~4 chunks of 65,536 tokens per epoch: checkpoints come between chunks.
            write_group_corpus(self.corpus, sentences=28_000, seed=5)

    def argv(self, out: Path) -> list[str]:
        extra = ["--buckets", "20000", "--dim", "12"] if self.method == "fasttext" else [
            "--dim", "16"]
        return ["train", str(self.corpus), "-o", str(out), "--method", self.method,
                "--tokenizer", "whitespace", "--window", "3", "--min-count", "1",
                "--sample", "1e-2", "--epochs", "2", "--threads", "1", "--seed", str(self.seed),
                "--checkpoint-every", "1e-5", *extra]

    def checkpoint(self, out: Path) -> Path:
        return out.with_name(out.name + ".work") / "checkpoint"

    def check_checkpoint(self, out: Path) -> dict[str, Any] | None:
        from tokvec.static.checkpoint import has_checkpoint, load_checkpoint

        work = self.checkpoint(out).parent
        if not has_checkpoint(work):
            return None
        tables, state = load_checkpoint(work)
        assert set(tables) >= {"input", "output"}
        return state

    def leftovers(self, out: Path) -> list[Path]:
        return [self.checkpoint(out).parent]

    def finished_model(self, out: Path) -> bool:
        return _complete(out)  # written once, at the end

    def check_log(self, out: Path, ref: Path, resumed_from: list[dict[str, Any]]) -> None:
        rows, expected = self.log_rows(out), self.log_rows(ref)
        steps = [r["step"] for r in rows]
        assert steps == sorted(steps)
        assert rows[-1]["words_done"] == expected[-1]["words_done"]
        # A line at every checkpoint (every chunk), so the lines are the same as the reference's.
        assert [_pick(r, self.fields) for r in rows] == [_pick(r, self.fields) for r in expected]


class PretrainCase(Case):
    """``tokvec pretrain --arch bert``: the model directory holds the run while it trains."""

    tensor_files = ("embeddings.safetensors", "encoder.safetensors")
    fields = ("step", "loss", "lr", "tokens")

    def __init__(self, data: Path, seed: int = 2) -> None:
        super().__init__(data)
        self.seed, self.name = seed, "pretrain-bert"
        self.corpus = data / "mlm.txt"
        self.tokenizer = data / "wordpiece"
        if not self.corpus.exists():
            from tokvec.tokenization import Tokenizer

            write_pretrain_corpus(self.corpus, lines=300, seed=1)
            # One tokenizer for every run: WordPiece training may order equal-count pieces
            # differently from process to process, which is not what this suite tests.
            Tokenizer.train([self.corpus], kind="wordpiece", vocab_size=120,
                            lowercase=True).save(self.tokenizer)

    def argv(self, out: Path) -> list[str]:
        return ["pretrain", str(self.corpus), "-o", str(out), "--arch", "bert",
                "--tokenizer", str(self.tokenizer), "--d-model", "32", "--layers", "2",
                "--heads", "2", "--ffn", "64", "--seq-len", "16", "--batch-size", "8",
                "--steps", "40", "--lr", "3e-3", "--dropout", "0.1", "--threads", "1",
                "--seed", str(self.seed), "--checkpoint-every", "1e-6", "--log-every", "2"]

    def check_checkpoint(self, out: Path) -> dict[str, Any] | None:
        from tokvec.contextual.checkpoint import read_checkpoint

        if not (self.checkpoint(out) / "state.json").is_file():
            return None
        state, weights, optimizer, _ = read_checkpoint(out)
        assert weights and optimizer
        return state

    def check_in_progress(self, out: Path) -> None:
        allowed = {"training.jsonl", "checkpoint", "work"}
        visible = {n for n in _names(out) if not n.startswith(".")}
        assert visible <= allowed, f"unexpected files in the run directory: {sorted(visible)}"
        with pytest.raises(TokvecError, match=r"config\.json is missing"):
            load_model(out)

    def leftovers(self, out: Path) -> list[Path]:
        return [self.checkpoint(out), out / "work"]

    def check_log(self, out: Path, ref: Path, resumed_from: list[dict[str, Any]]) -> None:
        rows, expected = self.log_rows(out), self.log_rows(ref)
        assert [r["step"] for r in rows] == list(range(2, 41, 2))  # none repeated or lost
        # A line's loss is the mean over the steps since the previous line; the first line after
        # resuming from a checkpoint between two lines averages only the steps after it.
        partial = {s["step"] // 2 * 2 + 2 for s in resumed_from if s["step"] % 2}
        for row, want in zip(rows, expected, strict=True):
            keys = tuple(k for k in self.fields if k != "loss" or row["step"] not in partial)
            assert _pick(row, keys) == _pick(want, keys)


class FinetuneCase(Case):
    """``tokvec finetune``: the task directory is replaced whole at each save."""

    fields = ("epoch", "step", "loss", "dev_accuracy", "dev_macro_f1", "lr", "best")
    tensor_files = ("embeddings.safetensors", "head.safetensors")

    def __init__(self, data: Path, head: str, seed: int = 4) -> None:
        super().__init__(data)
        self.head, self.seed, self.name = head, seed, f"finetune-{head}"
        self.train, self.dev = data / "train.tsv", data / "dev.tsv"
        if not self.train.exists():
            write_tsv(self.train, make_rows(400, 1))
            write_tsv(self.dev, make_rows(60, 2))

    def argv(self, out: Path) -> list[str]:
        # Learning rates low enough that epochs 1-3 improve on the dev set (the whole directory
        # is saved) and epochs 4-8 do not (only the checkpoint is).
        extra = {"bag": ["--hidden", "8", "--dropout", "0.3", "--bigrams", "--buckets", "300",
                         "--lr", "0.004"],
                 "cnn": ["--filters", "8", "--widths", "1,2", "--dropout", "0.3",
                         "--lr", "0.0015"]}[self.head]
        return ["finetune", "none", "-o", str(out), "--train", str(self.train),
                "--dev", str(self.dev), "--head", self.head, "--dim", "16", "--epochs", "8",
                "--patience", "0", "--batch-size", "16", "--threads", "1",
                "--seed", str(self.seed), "--checkpoint-interval", "0", *extra]

    def check_checkpoint(self, out: Path) -> dict[str, Any] | None:
        from tokvec.classify.checkpoint import STATE_TENSORS, read_state

        if not (self.checkpoint(out) / "state.json").is_file():
            return None
        state = read_state(self.checkpoint(out))
        assert load_file(str(self.checkpoint(out) / STATE_TENSORS))
        return state

    def compare(self, out: Path, ref: Path) -> None:
        super().compare(out, ref)
        assert json.loads((out / "metrics.json").read_text()) == json.loads(
            (ref / "metrics.json").read_text())

    def check_log(self, out: Path, ref: Path, resumed_from: list[dict[str, Any]]) -> None:
        rows, expected = self.log_rows(out), self.log_rows(ref)
        events = [r["event"] for r in rows]
        assert events[0] == "start" and events.count("start") == 1
        assert events[-1] == "end" and events.count("end") == 1
        epochs = [_pick(r, self.fields) for r in rows if r["event"] == "epoch"]
        assert epochs == [_pick(r, self.fields) for r in expected if r["event"] == "epoch"]
        # Each resume continued from a checkpoint a kill left (its epoch and step), right after
        # that epoch's line. (A resumed process killed before it wrote anything leaves no line.)
        left = [(s["epoch"], s["step"]) for s in resumed_from]
        last_epoch = 0
        for r in rows:
            if r["event"] == "epoch":
                last_epoch = r["epoch"]
            elif r["event"] == "resume":
                assert r["epoch"] == last_epoch, rows
                assert (r["epoch"], r["step"]) in left, (r, left)
                left = left[left.index((r["epoch"], r["step"])):]


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row.get(k) for k in keys}


def _names(d: Path) -> set[str]:
    try:
        return {p.name for p in d.iterdir()}
    except FileNotFoundError:
        return set()


def _same_tensors(a: Path, b: Path) -> None:
    x, y = load_file(str(a)), load_file(str(b))
    assert sorted(x) == sorted(y), a.name
    for key in x:
        assert x[key].dtype == y[key].dtype and x[key].shape == y[key].shape, (a.name, key)
        assert x[key].tobytes() == y[key].tobytes(), f"{a.name}:{key} differs from the reference"


CASES = {
    "train-sgns": lambda d: TrainCase(d, "sgns"),
    "train-fasttext": lambda d: TrainCase(d, "fasttext"),
    "pretrain-bert": lambda d: PretrainCase(d),
    "finetune-bag": lambda d: FinetuneCase(d, "bag"),
    "finetune-cnn": lambda d: FinetuneCase(d, "cnn"),
}


# ----- running and killing --------------------------------------------------------------------
@dataclass
class Kill:
    mode: str  # early | train | ckpt | final | done
    k: int = 1  # ckpt/final: the k-th write seen
    delay: float = 0.0  # seconds: after the start (early), the first save (train), the k-th
    # write (ckpt, final)

    def __str__(self) -> str:
        return f"{self.mode}(k={self.k}, +{self.delay * 1000:.1f} ms)"


@dataclass
class Reference:
    out: Path
    seconds: float  # wall time of the whole process
    first_save: float  # seconds from the start until the first save showed up
    checkpoints: int  # checkpoint writes seen
    replacements: int  # replacements of the whole output directory seen


@dataclass
class Outcome:
    killed: bool
    code: int | None
    stderr: str
    seconds: float
    phase: str = ""


@dataclass
class Journal:
    """What happened to one killed-and-resumed run."""

    kills: list[tuple[str, str]] = field(default_factory=list)  # (kill, phase hit)
    seconds: list[float] = field(default_factory=list)  # of each process
    resumed_from: list[dict[str, Any]] = field(default_factory=list)  # checkpoint states
    fresh_starts: int = 0
    processes: int = 0


def _launch(argv: list[str], log_dir: Path, n: int) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "TOKVEC_PROGRESS": "0", "PYTHONHASHSEED": "0"}
    err = log_dir / f"stderr.{n}.txt"
    with open(err, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "tokvec", *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=handle)
    return proc, err


def _temps(parent: Path, prefix: str) -> set[str]:
    try:
        with os.scandir(parent) as it:
            return {e.name for e in it if e.name.startswith(prefix) and e.name.endswith(".tmp")}
    except FileNotFoundError:
        return set()


class Watcher:
    """Follows the hidden temporaries a run creates; fires a kill when its moment comes."""

    def __init__(self, case: Case, out: Path) -> None:
        ckpt = case.checkpoint(out)
        self.ckpt = (ckpt.parent, f".{ckpt.name}.")
        self.final = (out.parent, f".{out.name}.")
        self.out, self.case = out, case
        self.before_ckpt = _temps(*self.ckpt)
        self.before_final = _temps(*self.final)
        self.seen_ckpt: set[str] = set()
        self.seen_final: set[str] = set()
        self.first_save: float | None = None  # time.monotonic() when a save first showed up

    def look(self) -> None:
        self.seen_ckpt |= _temps(*self.ckpt) - self.before_ckpt
        self.seen_final |= _temps(*self.final) - self.before_final
        if self.first_save is None and (self.seen_ckpt or self.seen_final):
            self.first_save = time.monotonic()

    def phase(self, case: Case) -> str:
        """Where the process was when it died, judged from what it left."""
        if _temps(*self.final) - self.before_final:
            return "output-replace"  # inside a save of the whole output directory
        if _temps(*self.ckpt) - self.before_ckpt:
            return "checkpoint-write"
        if case.finished_model(self.out):
            return "after-final-save"
        if (case.checkpoint(self.out) / "state.json").is_file():
            return "training"
        return "before-first-checkpoint"

    def moment(self, kill: Kill) -> bool:
        """Has the event ``kill`` waits for happened?"""
        if kill.mode == "train":
            return self.first_save is not None
        if kill.mode == "ckpt":
            return len(self.seen_ckpt) >= kill.k
        if kill.mode == "final":
            return len(self.seen_final) >= kill.k
        return kill.mode == "done" and self.case.finished_model(self.out)

    def run(self, proc: subprocess.Popen, started: float, kill: Kill | None) -> bool:
        """Wait for ``proc``; kill it at ``kill``'s moment. True if it was killed."""
        fire_at = started + kill.delay if kill is not None and kill.mode == "early" else None
        deadline = started + RUN_TIMEOUT
        while proc.poll() is None:
            now = time.monotonic()
            if now > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError(f"no exit within {RUN_TIMEOUT} s")
            self.look()
            if fire_at is None and kill is not None and self.moment(kill):
                fire_at = now + kill.delay
            if fire_at is not None and now >= fire_at:
                proc.send_signal(signal.SIGKILL)
                proc.wait()  # (it may have exited by itself just before)
                return proc.returncode == -signal.SIGKILL
            time.sleep(POLL)
        return False


def _run_once(case: Case, out: Path, resume: bool, kill: Kill | None, logs: Path,
              n: int) -> Outcome:
    argv = case.argv(out) + (["--resume"] if resume else [])
    watcher = Watcher(case, out)
    started = time.monotonic()
    proc, err = _launch(argv, logs, n)
    killed = watcher.run(proc, started, kill)
    phase = watcher.phase(case) if killed else ""
    return Outcome(killed, proc.returncode, err.read_text(), time.monotonic() - started, phase)


def _complete(out: Path) -> bool:
    return (out / "config.json").is_file()


def check_after_kill(case: Case, out: Path) -> dict[str, Any] | None:
    """No half-written output; any checkpoint readable; leftovers hidden. The checkpoint state."""
    if out.exists():
        assert out.is_dir()
        if _complete(out):
            load_model(out)  # whole and loadable
            for tensors in out.glob("*.safetensors"):
                load_file(str(tensors))
        else:
            case.check_in_progress(out)
    for parent in {out.parent, out, case.checkpoint(out).parent}:
        for name in _names(parent):
            if name.startswith("."):
                assert name.endswith((".tmp", ".trash")), f"unexpected hidden entry {parent / name}"
    return case.check_checkpoint(out)


def kill_and_resume(case: Case, out: Path, kills: list[Kill], logs: Path) -> Journal:
    """Run ``case`` into ``out``, killing it at each of ``kills``, resuming after each, until it
    completes. Returns what happened."""
    logs.mkdir(parents=True, exist_ok=True)
    journal = Journal()
    resume = False
    pending = list(kills)
    while True:
        kill = pending[0] if pending else None
        outcome = _run_once(case, out, resume, kill, logs, journal.processes)
        journal.processes += 1
        journal.seconds.append(round(outcome.seconds, 2))
        assert journal.processes < 4 * len(kills) + 8, "the run does not converge"
        if outcome.killed:
            pending.pop(0)
            state = check_after_kill(case, out)
            journal.kills.append((str(kill), outcome.phase))
            if state is not None:
                journal.resumed_from.append(state)
            resume = True
            continue
        if outcome.code == 0:
            break
        lines = outcome.stderr.strip().splitlines()
        if resume and outcome.code == 2 and NOTHING_TO_RESUME.search(outcome.stderr):
            assert len(lines) == 1, outcome.stderr  # one clear line, no traceback
            if _complete(out) and not any(p.exists() for p in case.leftovers(out)):
                break  # the kill came after the model was complete
            resume = False  # killed before the first checkpoint: start afresh
            journal.fresh_starts += 1
            continue
        raise AssertionError(f"{case.name} exited {outcome.code} "
                             f"({'resume' if resume else 'fresh'}): {outcome.stderr[-2000:]}")
    return journal


def final_checks(case: Case, out: Path, ref: Path, journal: Journal) -> None:
    assert _complete(out)
    for path in case.leftovers(out):
        assert not path.exists(), f"{path} left behind after the run finished"
    load_model(out)
    case.compare(out, ref)
    case.check_log(out, ref, journal.resumed_from)
    for name in _names(out.parent):
        assert not name.startswith(".") or name.endswith(".tmp")


# ----- references -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


_REFERENCES: dict[str, Reference] = {}


def reference(case: Case, root: Path) -> Reference:
    """The uninterrupted run, watched: its timing and save counts place the long runs' kills.
    It runs twice and the faster timing counts (the first may compile numba kernels)."""
    if case.name not in _REFERENCES:
        runs = []
        for n in range(2):
            out = root / "reference" / case.name / f"out{n}"
            out.parent.mkdir(parents=True, exist_ok=True)
            watcher = Watcher(case, out)
            started = time.monotonic()
            proc, err = _launch(case.argv(out), out.parent, n)
            watcher.run(proc, started, None)
            assert proc.returncode == 0, err.read_text()
            assert watcher.first_save is not None
            runs.append(Reference(out, time.monotonic() - started, watcher.first_save - started,
                                  len(watcher.seen_ckpt), len(watcher.seen_final)))
        case.compare(runs[1].out, runs[0].out)  # two uninterrupted runs agree, too
        _REFERENCES[case.name] = min(runs, key=lambda r: r.seconds)
    return _REFERENCES[case.name]


def draw_kills(rng: random.Random, ref: Reference, modes: list[str]) -> list[Kill]:
    kills = []
    for mode in modes:
        if mode == "early":
            kills.append(Kill("early", delay=rng.uniform(0.05, 1.0) * ref.first_save))
        elif mode == "train":
            kills.append(Kill("train", delay=rng.uniform(0.0, 0.6)
                              * (ref.seconds - ref.first_save)))
        elif mode == "ckpt":
            # Few: a resumed process has fewer saves left than the reference had.
            kills.append(Kill("ckpt", k=rng.randint(1, min(2, max(1, ref.checkpoints))),
                              delay=rng.uniform(0.0, 0.003)))
        elif mode == "final":
            kills.append(Kill("final", k=rng.randint(1, min(2, max(1, ref.replacements))),
                              delay=rng.uniform(0.0, 0.003)))
        else:
            kills.append(Kill(mode))
    return kills


# ----- the tests ------------------------------------------------------------------------------
# CI: one or two kills per case, at moments that need no timing from the reference run, so the
# reference runs on the second core meanwhile: (mode, k, delay range in seconds). pretrain and
# finetune get one kill each because every process spends ~6 s importing torch.
SHORT = {
    "train-sgns": [("ckpt", 2, (0.0, 0.003)), ("final", 1, (0.0, 0.003))],
    "train-fasttext": [("train", 1, (0.05, 0.25)), ("done", 1, (0.0, 0.0))],
    "pretrain-bert": [("ckpt", 9, (0.0, 0.003))],
    # the second checkpoint-only save (epoch 5): the task directory holds epoch 3's weights
    # (the best) and epoch 4's checkpoint, which the resume starts from
    "finetune-bag": [("ckpt", 2, (0.0, 0.003))],
}


@pytest.mark.parametrize("name", list(SHORT))
def test_kill_and_resume(name, data, tmp_path_factory):
    case = CASES[name](data)
    root = tmp_path_factory.mktemp(f"{name}-ci")
    ref_out = root / "reference" / "out"
    ref_out.parent.mkdir(parents=True)
    ref_proc, ref_err = _launch(case.argv(ref_out), ref_out.parent, 0)
    try:
        rng = random.Random(f"{name}-ci")
        kills = [Kill(mode, k, rng.uniform(*delay)) for mode, k, delay in SHORT[name]]
        out = root / "runs" / "out"
        out.parent.mkdir()
        journal = kill_and_resume(case, out, kills, root / "logs")
        assert ref_proc.wait(timeout=RUN_TIMEOUT) == 0, ref_err.read_text()
    finally:
        if ref_proc.poll() is None:
            ref_proc.kill()
            ref_proc.wait()
    print(f"{name}: {journal.kills}, fresh starts {journal.fresh_starts}, "
          f"processes {journal.seconds} s")
    assert journal.kills, "no kill landed"
    final_checks(case, out, ref_out, journal)


# By hand: rounds of kills in the order a run meets them, until each verb has taken about 20
# kills (train and finetune: 10 per method or head). A kill whose moment does not come (the run
# finished first) ends its round.
LONG = {"train-sgns": 10, "train-fasttext": 10, "pretrain-bert": 20, "finetune-bag": 10,
        "finetune-cnn": 10}
LONG_MODES = ["early", "ckpt", "train", "final", "done"]
MAX_ROUNDS = 12


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LONG))
def test_kill_and_resume_long(name, data, tmp_path_factory):
    case = CASES[name](data)
    ref = reference(case, tmp_path_factory.getbasetemp() / "kill-resume")
    phases: list[str] = []
    for round_ in range(MAX_ROUNDS):
        rng = random.Random(f"{name}-{round_}")
        kills = draw_kills(rng, ref, LONG_MODES)
        root = tmp_path_factory.mktemp(f"{name}-{round_}")
        out = root / "runs" / "out"
        out.parent.mkdir()
        journal = kill_and_resume(case, out, kills, root / "logs")
        print(f"{name} round {round_}: {journal.kills}, fresh starts {journal.fresh_starts}, "
              f"processes {journal.seconds} s")
        final_checks(case, out, ref.out, journal)
        phases += [phase for _, phase in journal.kills]
        if len(phases) >= LONG[name]:
            break
    print(f"{name}: {len(phases)} kills: " + ", ".join(
        f"{p} {phases.count(p)}" for p in sorted(set(phases))))
    assert len(phases) >= LONG[name]
    # Killed inside a checkpoint write, and inside or right after a replacement of the output
    # directory (which of the two a kill aimed at a save hits depends on timing).
    assert "checkpoint-write" in phases, phases
    assert "output-replace" in phases or "after-final-save" in phases, phases


# ----- atomic directory replacement under SIGKILL ---------------------------------------------
_KILL_INSIDE_SWAP = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import tokvec.atomic as atomic

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    target = Path(sys.argv[1])
    if sys.argv[2] == "exchange":
        real_exchange = atomic.exchange
        def exchange(a, b):
            assert real_exchange(a, b)
            die()  # right after the swap, before the old directory is deleted
        atomic.exchange = exchange
    else:
        atomic.exchange = lambda a, b: False  # as on a system without renameat2
        real_replace = os.replace
        def replace(src, dst):
            real_replace(src, dst)
            die()  # between the two renames: old moved aside, new not yet in place
        os.replace = replace
    with atomic.atomic_dir(target) as tmp:
        (tmp / "version").write_text("new")
    """)


@pytest.mark.parametrize("how", ["exchange", "fallback"])
def test_sigkill_inside_a_directory_swap_keeps_a_whole_directory(tmp_path, how):
    if how == "exchange":
        a, b = tmp_path / "a", tmp_path / "b"
        a.mkdir()
        b.mkdir()
        if not exchange(a, b):
            pytest.skip("no renameat2(RENAME_EXCHANGE) here")
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "version").write_text("old")
    proc = subprocess.run([sys.executable, "-c", _KILL_INSIDE_SWAP, str(target), how],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if how == "exchange":
        # One step: the new directory is in place; the old one waits under the temporary name.
        assert (target / "version").read_text() == "new"
    else:
        # Killed between the two renames: the target is missing until it is restored.
        assert not target.exists() and (tmp_path / ".model.old" / "version").is_file()
        assert restore_interrupted(target)
        assert (target / "version").read_text() == "old"
        assert not (tmp_path / ".model.old").exists()
    assert not restore_interrupted(target)
    with atomic_dir(target) as tmp:
        (tmp / "version").write_text("newer")
    assert (target / "version").read_text() == "newer"


def test_checkpoint_readers_restore_an_interrupted_swap(tmp_path):
    """The fallback's half-done state (only ``.NAME.old``) is repaired by the readers."""
    from tokvec.classify.checkpoint import read_state
    from tokvec.static.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path, {"input": np.ones((2, 3), np.float32)}, {"step": 4})
    (tmp_path / "checkpoint").rename(tmp_path / ".checkpoint.old")
    assert has_checkpoint(tmp_path)
    assert load_checkpoint(tmp_path)[1]["step"] == 4

    task = tmp_path / "task"
    with atomic_dir(task / "checkpoint") as tmp:
        (tmp / "state.json").write_text('{"epoch": 2}')
    task.rename(tmp_path / ".task.old")
    assert read_state(task / "checkpoint") == {"epoch": 2}


# ----- kills at exact points outside the atomic and checkpoint modules ------------------------
# Each test stops a run at one exact point by raising _Killed there (nothing after that point
# runs, as with SIGKILL; the files on disk are what a kill would leave), then carries on as a
# user would. Each pins a window the random kills above can only hit by luck.
class _Killed(BaseException):
    """Stands in for SIGKILL at one point of the code."""


@pytest.fixture
def small_corpus(tmp_path):
    path = tmp_path / "groups.txt"
    write_group_corpus(path, sentences=500, seed=5)
    return path


def _static_config():
    from tokvec.static import TrainConfig

    return TrainConfig(dim=16, window=3, min_count=1, sample=1e-2, epochs=2, seed=11, threads=1,
                       tokenizer="whitespace", chunk_words=600, log_every=0.0,
                       checkpoint_every=1e-5)


def test_train_kill_after_the_model_is_in_place(tmp_path, small_corpus, monkeypatch):
    """The training log is written inside the atomic model directory, not after it."""
    import tokvec.static.trainer as trainer

    def dying(work):
        raise _Killed

    monkeypatch.setattr(trainer, "remove_work", dying)
    out = tmp_path / "m"
    with pytest.raises(_Killed):
        trainer.train(small_corpus, out, _static_config())
    load_model(out)
    assert (out / "training.jsonl").read_bytes().count(b"\n") > 2
    monkeypatch.undo()
    trainer.train(small_corpus, out, _static_config(), resume=True)  # finishes the clean-up
    assert not trainer.work_dir_for(out).exists()


def _kill_in_cleanup(monkeypatch, first_deleted: str) -> None:
    """Make static training die while it deletes its work folder, after deleting
    ``first_deleted`` in it (rmtree's order is the directory's, which the file system decides)."""
    import types

    import tokvec.static.trainer as trainer

    def dying_rmtree(path, ignore_errors=False):
        if not Path(path).exists():
            return
        (Path(path) / first_deleted).unlink()
        raise _Killed

    monkeypatch.setattr(trainer, "shutil", types.SimpleNamespace(rmtree=dying_rmtree))


@pytest.mark.parametrize("first_deleted", ["corpus/ids.u32", "training.jsonl"])
def test_train_kill_in_cleanup_then_rerun_or_resume(tmp_path, small_corpus, monkeypatch,
                                                    first_deleted):
    """The work folder is renamed away before it is deleted: never a half-deleted cache that a
    rerun trusts, nor a missing log that a resume pads with NUL bytes."""
    from tokvec.static.trainer import train, work_dir_for

    out = tmp_path / "m"
    _kill_in_cleanup(monkeypatch, first_deleted)
    with pytest.raises(_Killed):
        train(small_corpus, out, _static_config())
    monkeypatch.undo()
    assert not work_dir_for(out).exists()
    log = (out / "training.jsonl").read_bytes()
    assert log and b"\0" not in log
    with pytest.raises(TokvecError, match="nothing to resume"):
        train(small_corpus, out, _static_config(), resume=True)
    assert not any(p.name.endswith(".trash") for p in tmp_path.iterdir())  # tidied up
    train(small_corpus, out, _static_config())  # a plain rerun works


def test_pretrain_kill_while_resume_rewrites_the_log(tmp_path, monkeypatch):
    import contextlib

    from test_contextual_pretrain import TINY

    import tokvec.contextual.pretrain as pt
    from tokvec.tokenization import Tokenizer

    corpus = write_pretrain_corpus(tmp_path / "c.txt")
    Tokenizer.train([corpus], kind="wordpiece", vocab_size=120, lowercase=True).save(
        tmp_path / "tok")
    opts = {**TINY, "steps": 12, "checkpoint_every": 0, "tokenizer": str(tmp_path / "tok")}
    out = tmp_path / "m"

    def interrupt(step, loss):
        if step == 6:
            os.kill(os.getpid(), signal.SIGINT)  # a checkpoint at step 6

    assert pt.pretrain([corpus], out, opts, on_step=interrupt).interrupted
    real = pt.atomic_file

    @contextlib.contextmanager
    def dying(path, mode="w"):
        with real(path, mode) as handle:
            handle.write('{"step": 2')  # half a line written, then killed
            raise _Killed
        yield handle

    monkeypatch.setattr(pt, "atomic_file", dying)
    with pytest.raises(_Killed):
        pt.pretrain([corpus], out, {}, resume=True)
    monkeypatch.undo()
    pt.pretrain([corpus], out, {}, resume=True)
    steps = [json.loads(line)["step"] for line in (out / "training.jsonl").open()]
    assert steps == list(range(2, 13, 2)), f"lines lost: {steps}"


def test_finetune_kill_between_log_and_checkpoint(tmp_path, monkeypatch):
    import tokvec.classify.train as ft
    from tokvec.classify import FinetuneConfig, finetune

    train_tsv = write_tsv(tmp_path / "train.tsv", make_rows(400, 1))
    dev_tsv = write_tsv(tmp_path / "dev.tsv", make_rows(60, 2))
    cfg = FinetuneConfig(head="bag", dim=16, epochs=4, patience=0, lr=0.002, hidden=8,
                         dropout=0.3, bigrams=True, buckets=300, seed=4, batch_size=16,
                         checkpoint_interval=0)
    real = ft._write_log

    def dying(run):
        last = [r for r in run.records if r.get("event") == "epoch"][-1]
        if not last["best"]:  # an epoch whose save is a checkpoint only
            raise _Killed
        real(run)

    monkeypatch.setattr(ft, "_write_log", dying)
    out = tmp_path / "task"
    with pytest.raises(_Killed):
        finetune("none", out, train_tsv, dev_tsv, None, cfg, log=None)
    monkeypatch.undo()
    finetune("none", out, train_tsv, dev_tsv, None, resume=True, log=None)
    rows = [json.loads(line) for line in (out / "training.jsonl").open()]
    epochs = [r["epoch"] for r in rows if r["event"] == "epoch"]
    assert epochs == [1, 2, 3, 4], f"epoch lines: {epochs}"
