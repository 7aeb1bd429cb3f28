"""A full file system: one line naming the path and "no space left on device", nothing left."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from tokvec.atomic import atomic_file, full_disk_error
from tokvec.cli import main
from tokvec.errors import DiskFull


@pytest.fixture
def full_fs(tmp_path):
    """A 1 MiB tmpfs (needs root and mount permission; skipped elsewhere)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def _corpus(path, words=4000, lines=3000):
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(words)]
    path.write_text("\n".join(" ".join(rng.choice(vocab, 15)) for _ in range(lines)) + "\n")
    return path


@pytest.mark.parametrize("message", [
    "No space left on device (os error 28)",  # safetensors' wrapper of the OS error
    "174869 requested and 93289 written",  # numpy's tofile on a short write
])
def test_full_disk_messages_without_errno_are_recognised(message):
    assert isinstance(full_disk_error(RuntimeError(message), "out"), DiskFull)
    assert full_disk_error(RuntimeError("something else"), "out") is None
    assert full_disk_error(OSError(13, "Permission denied"), "out") is None


def test_train_into_a_full_file_system(tmp_path, full_fs, capsys):
    corpus = _corpus(tmp_path / "c.txt")
    code = main(["train", str(corpus), "-o", str(full_fs / "m"), "--dim", "100",
                 "--epochs", "1", "--min-count", "1", "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{full_fs}/m" in err and "no space left on device" in err
    assert os.listdir(full_fs) == []


def test_export_and_atomic_file_into_a_full_file_system(tmp_path, full_fs, capsys):
    corpus = _corpus(tmp_path / "c.txt")
    assert main(["train", str(corpus), "-o", str(tmp_path / "m"), "--dim", "100",
                 "--epochs", "1", "--min-count", "1", "--threads", "1"]) == 0
    capsys.readouterr()
    code = main(["export", str(tmp_path / "m"), "-o", str(full_fs / "v.txt"),
                 "--format", "word2vec"])
    err = capsys.readouterr().err
    assert code == 2 and f"{full_fs}/v.txt: cannot write: no space left on device" in err
    with pytest.raises(DiskFull), atomic_file(full_fs / "big.bin") as handle:
        handle.write(b"\0" * (2 << 20))
    assert os.listdir(full_fs) == []
