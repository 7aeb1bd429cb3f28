"""Train one model of a sweep and measure it: wall time and peak memory.

Memory is measured one of two ways (``memory_method`` in the results says which):

- ``child peak RSS (VmHWM)`` (default, ``isolate=True``): the model is trained in a fresh Python
  process (``python -m tokvec.sweep.child``) and its peak resident set size is read from the
  kernel's high-water mark of that process's address space (``VmHWM`` in ``/proc/self/status``).
  That is the figure ``getrusage().ru_maxrss`` is built from, without what Linux folds into
  ``ru_maxrss`` across fork and exec: the *parent's* resident size at the fork (hundreds of MiB
  when the parent has torch loaded). Where ``/proc`` is missing, ``ru_maxrss`` is used. The peak
  includes the interpreter and the imports, reported apart as ``baseline_rss_bytes`` (the peak
  just before training starts).
- ``in-process RSS sampled every 20 ms`` (``isolate=False``): training runs in this process while
  a thread reads the resident set size from ``/proc/self/statm``; cheaper to start (the JIT
  compiles once for the whole sweep) but the peak includes whatever this process already held.

Wall time covers the whole training call (vocabulary, encoding, epochs, saving), measured inside
the process that trains.

>>> maxrss_bytes() >= rss_bytes() > 0
True
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TokvecError
from .jobs import run_job

CHILD_METHOD = "child peak RSS (VmHWM)"
SAMPLED_METHOD = "in-process RSS sampled every 20 ms"
_SAMPLE_S = 0.02


@dataclass
class Measurement:
    """Seconds, peak and baseline resident memory of one training run."""

    seconds: float
    peak_rss_bytes: int
    baseline_rss_bytes: int
    memory_method: str


def maxrss_bytes() -> int:
    """Peak resident set size of this process's address space so far, in bytes.

    ``VmHWM`` from ``/proc/self/status`` on Linux (reset at exec, unlike ``ru_maxrss``), else
    ``getrusage().ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def rss_bytes() -> int:
    """This process's current resident set size in bytes (peak so far where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return maxrss_bytes()


def measure_in_process(job: dict[str, Any]) -> Measurement:
    """Run ``job`` here, sampling the resident set size from a helper thread."""
    baseline = rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(_SAMPLE_S):
            peak[0] = max(peak[0], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        run_job(job)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    peak[0] = max(peak[0], rss_bytes())
    return Measurement(seconds, peak[0], baseline, SAMPLED_METHOD)


def measure_in_child(job: dict[str, Any], scratch: Path) -> Measurement:
    """Run ``job`` in a fresh Python process and read back its time and ``ru_maxrss``."""
    scratch.mkdir(parents=True, exist_ok=True)
    job_path, result_path = scratch / ".job.json", scratch / ".job-result.json"
    result_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps(job), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tokvec.sweep.child", str(job_path),
                             str(result_path)])
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # The child got the same SIGINT: give it time to checkpoint and exit on its own.
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        raise
    try:
        result = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = None
    finally:
        job_path.unlink(missing_ok=True)
        result_path.unlink(missing_ok=True)
    if result is not None and "error" in result:
        raise TokvecError(result["error"])
    if code != 0 or result is None:
        why = " (killed: out of memory?)" if code in (-9, 137) else ""
        raise TokvecError(f"training process for {job['output']} failed with exit code "
                          f"{code}{why}; its messages are above")
    return Measurement(result["seconds"], result["peak_rss_bytes"],
                       result["baseline_rss_bytes"], CHILD_METHOD)


def measure(job: dict[str, Any], isolate: bool, scratch: Path) -> Measurement:
    """Train ``job`` and measure it, in a child process (``isolate``) or here."""
    return measure_in_child(job, scratch) if isolate else measure_in_process(job)
