"""`make bench`: every benchmark in turn, each appending its results to bench/RESULTS.md.

    .venv/bin/python bench/run.py [name ...]     # e.g. `bench/run.py portal_load scale_out`

Each benchmark starts and stops its own processes; they run one after another because they share
the machine's cores (and the load benchmarks the Redis db 12). Exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
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
    # Needs root and iptables (its relays' faults are packet filters): skipped without them.
    "fault_test": ["fault_test.py", "--write"],
}
# Generous per benchmark; each also stops itself well before this.
TIMEOUT_SECONDS = 1900


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"default: all of {', '.join(SUITE)}"
    )
    chosen = parser.parse_args().names or list(SUITE)
    if unknown := [name for name in chosen if name not in SUITE]:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    failed = []
    for name in chosen:
        script, *args = SUITE[name]
        if name == "fault_test" and os.geteuid() != 0:
            print(f"== {name}: needs root (packet filters), skipped", flush=True)
            continue
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
