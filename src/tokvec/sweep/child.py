"""Entry point of the child process that trains one sweep model: ``python -m tokvec.sweep.child``.

Usage: ``python -m tokvec.sweep.child JOB.json RESULT.json``. Reads the job, trains, and writes
``{"seconds", "peak_rss_bytes", "baseline_rss_bytes"}`` (or ``{"error"}`` for a user error) to
RESULT.json. Only JSON crosses the process boundary.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..atomic import write_json
from ..errors import TokvecError
from .jobs import preload, run_job
from .measure import maxrss_bytes


def main(argv: list[str]) -> int:
    job_path, result_path = Path(argv[0]), Path(argv[1])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    preload(job["kind"])  # imports count in the baseline, not in the training
    baseline = maxrss_bytes()
    start = time.perf_counter()
    try:
        run_job(job)
    except TokvecError as exc:
        write_json(result_path, {"error": str(exc)})
        return 2
    seconds = time.perf_counter() - start
    write_json(result_path, {"seconds": seconds, "peak_rss_bytes": maxrss_bytes(),
                             "baseline_rss_bytes": baseline})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
