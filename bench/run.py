"""`make bench`: every benchmark in turn, each appending its results to bench/RESULTS.md.

    .venv/bin/python bench/run.py [name ...]     # e.g. `bench/run.py portal_load scale_out`

Each benchmark starts and stops its own processes; they run one after another because they share
the machine's cores (and the load benchmarks the Redis db 12). Exits non-zero if any failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITE: dict[str, list[str]] = {
    "emulator_bench": ["emulator_bench.py", "--write"],
    "nue_gateway": ["nue_gateway.py", "--write"],
    "pages_history": ["pages_history.py", "--write"],
    "portal_load": ["portal_load.py", "--write"],
    "scale_out": ["scale_out.py", "--write"],
    "lighthouse": ["lighthouse.py", "--write"],
}
# Generous per benchmark; each also stops itself well before this.
TIMEOUT_SECONDS = 1900


def main() -> None:
    chosen = sys.argv[1:] or list(SUITE)
    failed = []
    for name in chosen:
        script, *args = SUITE[name]
        if not (BENCH / script).exists():
            print(f"== {name}: bench/{script} is not here, skipped", flush=True)
            continue
        print(f"== {name}: bench/{script} {' '.join(args)}", flush=True)
        try:
            done = subprocess.run(
                [sys.executable, str(BENCH / script), *args],
                cwd=BENCH.parent,
                timeout=TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            failed.append(name)
            continue
        if done.returncode != 0:
            failed.append(name)
    if failed:
        raise SystemExit(f"Failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
