"""Lighthouse scores (performance, accessibility, best practices) of the portal's main pages.

    .venv/bin/python bench/lighthouse.py                  # print the table
    .venv/bin/python bench/lighthouse.py --write          # also append it to bench/RESULTS.md
    .venv/bin/python bench/lighthouse.py --mobile --runs 1

Installs npm `lighthouse` from bench/package-lock.json (`npm ci --prefix bench`) and drives
Debian's /usr/bin/chromium with it (CHROME_PATH); no browser is downloaded. The portal runs as in
production: DEBUG=false, gunicorn with gunicorn.conf.py, static files collected and compressed
and served by whitenoise, against the embedded emulator on a temporary SQLite database. The
signed-in pages get Ada's session cookie through `--extra-headers`. The portal is a desk tool:
Lighthouse's desktop preset by default, its mobile profile (slow 4G, 4x CPU slowdown) with
--mobile. Each page is audited --runs times and the median score reported, as Lighthouse advises
for its run-to-run variance (large on a shared 2-core machine). Goals: 100 accessibility and best
practices, >= 95 performance.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import BIN, ROOT, free_port, sign_in, wait_for_http

BENCH = ROOT / "bench"
CHROME = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices")
GOALS = {"performance": 95, "accessibility": 100, "best-practices": 100}
PRO = "SUB-00000001"
RUN_SECONDS = 120
ATTEMPTS = 3
# The full reports, to see what costs the points (bench/out/ is not committed).
REPORTS = BENCH / "out"


def npm_ci() -> Path:
    lighthouse = BENCH / "node_modules" / ".bin" / "lighthouse"
    if not lighthouse.exists():
        subprocess.run(["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund"], check=True)
    return lighthouse


def portal_env(tmp: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite3'}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        # The embedded emulator as a production demo: switched on explicitly, with its own key.
        "NUE_EMULATOR_ENABLED": "true",
        "NUE_API_KEY": secrets.token_urlsafe(32),
        # No TLS on loopback: no redirect to https (the Secure cookies go in the header).
        "SECURE_SSL_REDIRECT": "false",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def first_href(session, path: str, pattern: str) -> str:
    found = re.search(pattern, session.request("GET", path).text)
    if not found:
        raise SystemExit(f"No link matching {pattern!r} on {path}")
    return found.group(1)


def audit(
    lighthouse: Path, url: str, headers: Path | None, out: Path, mobile: bool
) -> dict[str, object]:
    command = [
        str(lighthouse),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if headers:
        command.append(f"--extra-headers={headers}")
    if not mobile:
        command.append("--preset=desktop")
    # Lighthouse now and then loses the trace of a load (NO_NAVSTART) and says to run it again.
    for attempt in range(ATTEMPTS):
        done = subprocess.run(
            command, env={**os.environ, "CHROME_PATH": CHROME}, check=False, timeout=RUN_SECONDS
        )
        if done.returncode == 0:
            break
        if attempt == ATTEMPTS - 1:
            done.check_returncode()
    report = json.loads(out.read_text())
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    failing = [
        f"{a['id']} ({a['score']})"
        for a in report["audits"].values()
        if a.get("score") is not None
        and a["score"] < 1
        and a.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    return {"scores": scores, "failing": failing}


def median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run whose performance score is the median; its failing audits go with it."""
    ordered = sorted(runs, key=lambda run: run["scores"]["performance"])  # type: ignore[index]
    return ordered[len(ordered) // 2]


def render(results: list[tuple[str, str, dict[str, object]]], mobile: bool, runs: int) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"## Lighthouse ({when})",
        "",
        f"Command: `{command_line()}` — npm lighthouse "
        f"{lighthouse_version()} (bench/package-lock.json) driving Debian's chromium "
        f"(CHROME_PATH={CHROME}, `{CHROME_FLAGS}`), "
        + ("mobile profile" if mobile else "desktop preset")
        + f", median of {runs} run{'s' if runs > 1 else ''} per page. Portal under "
        "gunicorn with DEBUG=false, collected and compressed static files served by "
        "whitenoise, embedded emulator, SQLite; signed in as Ada via `--extra-headers`.",
        "",
        "| Page | Performance | Accessibility | Best practices |",
        "|---|---:|---:|---:|",
    ]
    for name, _url, result in results:
        scores = result["scores"]
        assert isinstance(scores, dict)
        lines.append(
            f"| {name} | {scores['performance']} | {scores['accessibility']} "
            f"| {scores['best-practices']} |"
        )
    goals = ", ".join(f"{c} >= {g}" for c, g in GOALS.items())
    met = all(
        result["scores"][c] >= g  # type: ignore[index]
        for _n, _u, result in results
        for c, g in GOALS.items()
    )
    lines += ["", f"Goals ({goals}): **{'met' if met else 'not met'}**.", ""]
    return "\n".join(lines)


def command_line() -> str:
    return " ".join([".venv/bin/python", "bench/lighthouse.py", *sys.argv[1:]])


def lighthouse_version() -> str:
    lock = json.loads((BENCH / "package-lock.json").read_text())
    return lock["packages"]["node_modules/lighthouse"]["version"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--mobile", action="store_true", help="mobile profile, not desktop")
    parser.add_argument("--runs", type=int, default=3, help="audits per page (median)")
    args = parser.parse_args()
    if not Path(CHROME).exists():
        raise SystemExit("Needs Debian's chromium: apt-get install chromium")
    lighthouse = npm_ci()
    REPORTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nue-lighthouse-") as name:
        tmp = Path(name)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = portal_env(tmp, port)
        manage(env, "migrate", "--noinput")
        manage(env, "seed_emulator")
        manage(env, "seed_demo", "--force")
        manage(env, "collectstatic", "--noinput")
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "portal.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "gunicorn.log").open("w"),
            start_new_session=True,
        )
        try:
            wait_for_http(f"{base}/healthz")
            session = sign_in(base, "ada@acme.example")
            headers = tmp / "headers.json"
            headers.write_text(json.dumps({"Cookie": session.header}))
            draft = first_href(
                session, "/orders/?status=draft", r'<th scope="row"><a[^>]*href="(/orders/[^"]+/)"'
            )
            pages = [
                ("Sign-in", "/accounts/login/", None),
                ("Dashboard", "/", headers),
                ("Order history", "/orders/", headers),
                ("Order detail (draft)", draft, headers),
                ("New order", "/orders/new/", headers),
                ("Change wizard: choose", f"/subscriptions/{PRO}/change/", headers),
                ("Change wizard: quantity", f"/subscriptions/{PRO}/change/quantity/", headers),
            ]
            results = []
            for index, (title, path, extra) in enumerate(pages):
                result = median_run(
                    [
                        audit(
                            lighthouse,
                            base + path,
                            extra,
                            REPORTS / f"lighthouse-{index}-{run}.json",
                            args.mobile,
                        )
                        for run in range(args.runs)
                    ]
                )
                print(title, result["scores"], *result["failing"], sep="\n  ", flush=True)
                results.append((title, path, result))
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
    report = render(results, args.mobile, args.runs)
    print(report)
    if args.write:
        with (BENCH / "RESULTS.md").open("a") as out:
            out.write("\n" + report)


if __name__ == "__main__":
    main()
