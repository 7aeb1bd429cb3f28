"""Fuzz the readers of user files for a while: hypothesis, then atheris where it is installed.

The targets are those of the test suite's short pass (``tests/fuzz_targets.py``): the vector
readers (word2vec text and binary, GloVe, fastText ``.vec``, projector TSV, auto-detection), the
similarity, analogy, WiC, labelled-TSV and text readers, and the model-directory loader. A
target passes an input when the reader returns a sane result or raises ``TokvecError`` naming
the file; any other exception, a hard crash or a hang (no answer within ``--hang`` seconds) is a
bug.

Half of ``--minutes`` goes to hypothesis (one child process takes the targets in turn, not
derandomized: runs of examples seeded from ``--seed``; after a hard crash a new child goes on with
the rest), half to atheris (coverage-guided, tokvec's Python code instrumented; a child per
target) when ``import atheris`` works, else all to hypothesis. Run it under the bench lock::

    flock -s /tmp/tokvec-bench.lock .venv/bin/python bench/fuzz.py --minutes 5
    .venv/bin/python bench/fuzz.py --target modeldir --minutes 1 --engine hypothesis
    .venv/bin/python bench/fuzz.py --replay bench/out/fuzz/modeldir-hypothesis.crash.json

It prints per target and engine the examples run and their outcomes (ok, TokvecError, crash)
and, for a crash, the error, the end of the traceback and the input (repr, truncated); the whole
input is saved as ``bench/out/fuzz/TARGET-ENGINE.crash.json`` (replay it with ``--replay``).
Exit status 1 on any crash.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_OUT = ROOT / "bench" / "out" / "fuzz"
CHUNK_EXAMPLES = 50  # hypothesis examples per seeded run; the clock is checked between runs
STATS_EVERY_S = 0.2
MODULES = {  # what each target's reader reaches (vectors-*: "vectors")
    "vectors": ["tokvec.formats"],
    "similarity": ["tokvec.evaluation"], "analogy": ["tokvec.evaluation"],
    "wic": ["tokvec.contextual.wic"],
    "labelled": ["tokvec.classify.data"], "texts": ["tokvec.classify.data"],
    "modeldir": ["tokvec.modeldir", "tokvec.static_model", "tokvec.tokenization",
                 "tokvec.static.subwords", "tokvec.contextual", "tokvec.contextual.hf",
                 "tokvec.classify.model"],
}
STARTUP_S = 3.0  # a child's start-up: Python, numpy, numba, tokvec (torch for some targets)


# ---------------------------------------------------------------------------- children
class Recorder:
    """Counts outcomes; saves the input before each run (a hang or segfault leaves it behind)."""

    def __init__(self, name: str, engine: str, out: Path, hang_s: float) -> None:
        self.stem = out / f"{name}-{engine}"
        self.hang_s = hang_s
        self.stats = {"target": name, "engine": engine, "examples": 0, "ok": 0, "error": 0,
                      "crash": 0, "seconds": 0.0}
        self.start = time.monotonic()
        self._written = 0.0

    def run(self, target, case) -> None:  # type: ignore[no-untyped-def]
        from fuzz_targets import run_case

        self.stats["examples"] += 1
        Path(f"{self.stem}.current.json").write_text(case.dump())
        faulthandler.dump_traceback_later(self.hang_s, exit=True)
        try:
            outcome = run_case(target, case)
        except Exception as exc:
            self.stats["crash"] = 1  # hypothesis stops at a bug (after shrinking it)
            Path(f"{self.stem}.crash.json").write_text(json.dumps({
                "case": json.loads(case.dump()), "error": f"{type(exc).__name__}: {exc}"[:2000],
                "traceback": traceback.format_exc()[-6000:], "describe": case.describe()}))
            self.save()
            raise
        finally:
            faulthandler.cancel_dump_traceback_later()
        self.stats[outcome] += 1
        if time.monotonic() - self._written > STATS_EVERY_S:
            self.save()

    def save(self) -> None:
        self.stats["seconds"] = round(time.monotonic() - self.start, 2)
        Path(f"{self.stem}.json").write_text(json.dumps(self.stats))
        self._written = time.monotonic()


def child_hypothesis(names: list[str], seconds: float, seed: int, out: Path,
                     hang_s: float) -> None:
    """Each target in turn, for an equal share of the time left (one process: one start-up)."""
    finish = time.monotonic() + seconds
    for i, name in enumerate(names):
        hypothesis_pass(name, (finish - time.monotonic()) / (len(names) - i), seed, out, hang_s)


def hypothesis_pass(name: str, seconds: float, seed: int, out: Path, hang_s: float) -> None:
    from fuzz_targets import target
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    fuzzed = target(name)
    recorder = Recorder(name, "hypothesis", out, hang_s)
    deadline = time.monotonic() + seconds
    chunk = 0
    while time.monotonic() < deadline and not recorder.stats["crash"]:
        def one(case):  # type: ignore[no-untyped-def]
            recorder.run(fuzzed, case)

        test = given(fuzzed.strategy)(one)
        test = settings(database=None, deadline=None, derandomize=False,
                        max_examples=CHUNK_EXAMPLES, phases=[Phase.generate, Phase.shrink],
                        suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                        print_blob=False)(test)
        try:
            seeded(seed * 1_000_003 + chunk)(test)()
        except BaseException:  # the recorder kept the (shrunk) input
            if not recorder.stats["crash"]:
                raise
        chunk += 1
    recorder.stats["done"] = True
    recorder.save()


def child_atheris(name: str, seconds: float, seed: int, out: Path, hang_s: float) -> None:
    import atheris

    # Instrument tokvec's Python code (not the numba kernels, which compile from bytecode): the
    # modules the target reaches are imported here, before fuzzing starts.
    with atheris.instrument_imports(include=["tokvec"], exclude=["tokvec.formats.kernels"]):
        import fuzz_targets

        for module in MODULES.get(name, MODULES["vectors"]):
            importlib.import_module(module)
        fuzzed = fuzz_targets.target(name)
    recorder = Recorder(name, "atheris", out, hang_s)
    corpus = out / f"{name}-atheris-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(fuzzed.seeds):
        (corpus / f"seed{i}").write_bytes(data)

    def one(data: bytes) -> None:
        recorder.run(fuzzed, fuzzed.from_bytes(data))

    atheris.Setup([sys.argv[0], f"-max_total_time={max(1, int(seconds))}", f"-seed={seed + 1}",
                   f"-timeout={int(hang_s)}", "-rss_limit_mb=4096", "-max_len=4096",
                   f"-artifact_prefix={out}/{name}-atheris-", "-print_final_stats=1",
                   str(corpus)], one)
    try:
        atheris.Fuzz()
    finally:
        recorder.save()


# ---------------------------------------------------------------------------- the parent
def atheris_available() -> bool:
    return importlib.util.find_spec("atheris") is not None


def launch(names: list[str], engine: str, seconds: float, args: argparse.Namespace,
           log: Path) -> int | str:
    """Run a child fuzzing ``names`` with ``engine``; its exit code (or "timeout")."""
    command = [sys.executable, __file__, "--child", ",".join(names), "--engine", engine,
               "--seconds", str(seconds), "--seed", str(args.seed), "--out", str(args.out),
               "--hang", str(args.hang)]
    with open(log, "ab") as handle:
        try:
            return subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False,
                                  timeout=seconds + 2 * args.hang + 120).returncode
        except subprocess.TimeoutExpired:
            return "timeout"


def clear(name: str, engine: str, out: Path) -> None:
    for suffix in (".json", ".crash.json", ".current.json"):
        Path(f"{out / name}-{engine}{suffix}").unlink(missing_ok=True)


def collect(name: str, engine: str, code: int | str, out: Path, log: Path) -> dict:
    """A child's counts for one target, with a crash report where there was one."""
    stem = out / f"{name}-{engine}"
    stats_path = Path(f"{stem}.json")
    stats = (json.loads(stats_path.read_text()) if stats_path.is_file() else
             {"target": name, "engine": engine, "examples": 0, "ok": 0, "error": 0, "crash": 0,
              "seconds": 0.0})
    crash_path = Path(f"{stem}.crash.json")
    if crash_path.is_file():
        stats["crash"] = 1
        stats["report"] = json.loads(crash_path.read_text())
    elif code != 0:  # killed by a signal, a hang (faulthandler's exit), a libFuzzer stop
        from fuzz_targets import Case

        current = Path(f"{stem}.current.json")
        case = Case.load(current.read_text()) if current.is_file() else None
        stats["crash"] = 1
        text = log.read_text(errors="replace")
        # faulthandler's dump (a hang or a fatal signal) lists the innermost frame first
        at = max(text.rfind("Timeout ("), text.rfind("Fatal Python error"))
        trace = "\n".join(text[at:].splitlines()[:14][::-1]) if at >= 0 else text[-3000:]
        stats["report"] = {"error": f"the child exited with {code} (a hang, a hard crash or a "
                                    "fuzzer stop)",
                           "traceback": trace,
                           "describe": case.describe() if case else "?",
                           "case": json.loads(case.dump()) if case else None}
        if case is not None:
            crash_path.write_text(json.dumps(stats["report"]))
    return stats


def run_hypothesis(names: list[str], seconds: float, args: argparse.Namespace) -> list[dict]:
    """All targets in one child; after a hard crash, a new child goes on with the rest."""
    log = args.out / "hypothesis.log"
    log.unlink(missing_ok=True)
    for name in names:
        clear(name, "hypothesis", args.out)
    finish = time.monotonic() + seconds
    results: list[dict] = []
    pending = list(names)
    while pending:
        code = launch(pending, "hypothesis", max(1.0, finish - time.monotonic() - STARTUP_S),
                      args, log)
        while pending:
            name = pending.pop(0)
            stats_path = Path(f"{args.out / name}-hypothesis.json")
            finished = stats_path.is_file() and json.loads(stats_path.read_text()).get("done")
            results.append(collect(name, "hypothesis", 0 if finished else code, args.out, log))
            if not finished:
                break  # the target the child died on; the rest get a new child
    return results


def run_atheris(names: list[str], seconds: float, args: argparse.Namespace) -> list[dict]:
    """One child per target (atheris ends its process when it stops)."""
    finish = time.monotonic() + seconds
    overhead = STARTUP_S
    results = []
    for i, name in enumerate(names):
        clear(name, "atheris", args.out)
        log = args.out / f"{name}-atheris.log"
        log.unlink(missing_ok=True)
        share = max(1.0, (finish - time.monotonic()) / (len(names) - i) - overhead)
        started = time.monotonic()
        code = launch([name], "atheris", share, args, log)
        stats = collect(name, "atheris", code, args.out, log)
        overhead = max(1.0, time.monotonic() - started - stats["seconds"])
        results.append(stats)
    return results


def print_row(stats: dict) -> None:
    rate = stats["examples"] / stats["seconds"] if stats["seconds"] else 0.0
    print(f"{stats['target']:<20} {stats['engine']:<10} {stats['seconds']:>7.1f} "
          f"{stats['examples']:>9} {rate:>7.0f} {stats['ok']:>7} {stats['error']:>11} "
          f"{stats['crash']:>6}", flush=True)


def print_crash(stats: dict, out: Path) -> None:
    report = stats["report"]
    print(f"\nCRASH in {stats['target']} ({stats['engine']}): {report['error']}")
    print("  " + "\n  ".join(report["traceback"].rstrip().splitlines()[-12:]))
    print("  input:\n    " + "\n    ".join(report["describe"].splitlines()))
    print(f"  whole input: {out / (stats['target'] + '-' + stats['engine'])}.crash.json "
          "(replay with --replay)")


def replay(path: Path) -> int:
    from fuzz_targets import Case, run_case, target

    report = json.loads(path.read_text())
    name = path.name.rsplit("-", 1)[0]
    case = Case.load(json.dumps(report["case"]))
    print(case.describe())
    print(run_case(target(name), case))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="total time (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", action="append",
                        help="a target to fuzz (repeatable; default: all): vectors-word2vec, "
                             "vectors-word2vec-bin, vectors-glove, vectors-fasttext, "
                             "vectors-tsv, vectors-auto, similarity, analogy, wic, labelled, "
                             "texts, modeldir")
    parser.add_argument("--engine", choices=("both", "hypothesis", "atheris"), default="both")
    parser.add_argument("--hang", type=float, default=60.0,
                        help="seconds one input may take before it counts as a hang")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--replay", type=Path, help="run a saved TARGET-ENGINE.crash.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.replay:
        return replay(args.replay)
    if args.child:
        if args.engine == "hypothesis":
            child_hypothesis(args.child.split(","), args.seconds, args.seed, args.out, args.hang)
        else:
            child_atheris(args.child, args.seconds, args.seed, args.out, args.hang)
        return 0

    from fuzz_targets import FACTORIES  # not before a child's atheris instruments tokvec

    names = args.target or sorted(FACTORIES)
    unknown = sorted(set(names) - set(FACTORIES))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(sorted(FACTORIES))}")
    engines = ["hypothesis", "atheris"] if args.engine == "both" else [args.engine]
    if "atheris" in engines and not atheris_available():
        print("atheris is not installed: hypothesis only")
        engines = [e for e in engines if e != "atheris"] or ["hypothesis"]
    seconds = args.minutes * 60 / len(engines)
    print(f"fuzzing {len(names)} target(s) for {args.minutes:g} min: {', '.join(engines)}, "
          f"{seconds / len(names):.1f} s per target and engine (start-up included), "
          f"seed {args.seed}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'target':<20} {'engine':<10} {'seconds':>7} {'examples':>9} {'ex/s':>7} "
          f"{'ok':>7} {'TokvecError':>11} {'crash':>6}", flush=True)
    results = []
    for engine in engines:
        run = run_hypothesis if engine == "hypothesis" else run_atheris
        for stats in run(names, seconds, args):
            print_row(stats)
            results.append(stats)
    total = {k: sum(r[k] for r in results) for k in ("examples", "ok", "error", "crash")}
    print(f"{'total':<20} {'':<10} {sum(r['seconds'] for r in results):>7.1f} "
          f"{total['examples']:>9} {'':>7} {total['ok']:>7} {total['error']:>11} "
          f"{total['crash']:>6}")
    for stats in results:
        if stats["crash"]:
            print_crash(stats, args.out)
    return 1 if total["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
