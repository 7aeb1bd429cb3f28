"""Shared fixtures: small corpora written by the tests themselves."""

from __future__ import annotations

import pytest

EN_LINES = [
    "The cat sat on the mat.",
    "A dog chased the cat, and the cat ran away!",
    "Dogs and cats are animals; birds are animals too.",
    "The quick brown fox jumps over the lazy dog.",
    "Don't stop believing: it's only 3.5 miles.",
    "Café naïve résumé — Unicode words.",
] * 20

ZH_LINES = [
    "我爱北京天安门",
    "今天天气很好，我们去公园散步。",
    "这个手机很好用，我很喜欢。",
    "中国人民银行发布了新的政策。",
] * 20


@pytest.fixture
def en_corpus(tmp_path):
    path = tmp_path / "en.txt"
    path.write_text("\n".join(EN_LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def zh_corpus(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_text("\n".join(ZH_LINES) + "\n", encoding="utf-8")
    return path


def run_torchrun(args, out, env, timeout=120):
    """Run ``python -m torch.distributed.run ARGS``; once more if a worker died of a signal.

    A rare gloo abort (a worker killed by SIGABRT, seen once in five full CPU suite runs, never
    in 28 runs alone or under load) is not what these tests check, so such a run is retried
    once, from an empty output directory, with the first run's stderr kept as a warning for
    diagnosis. Any other failure, and a second signal death, fail the test.
    """
    import shutil
    import subprocess
    import sys
    import warnings

    command = [sys.executable, "-m", "torch.distributed.run", *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0 and "Signal " in proc.stderr and "received by PID" in proc.stderr:
        warnings.warn(f"torchrun worker died of a signal; retrying once. stderr:\n"
                      f"{proc.stderr[:6000]}", stacklevel=2)
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    return proc
