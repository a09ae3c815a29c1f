"""`make messages-check`: the translation catalogs are what makemessages makes, and complete.

makemessages runs on a copy of the sources (the working tree is left alone) for every language
of locale/; the check fails when it reports a problem (xgettext's warnings included), when the
committed catalog lacks a message the code has or keeps one it no longer has (run
`make messages`), or when a message is untranslated or fuzzy.

`--update` (`make messages`) copies the catalogs makemessages made back into locale/, for the
translator to fill in: the same sources, so the check then finds them up to date.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("manage.py", "portal", "orders", "nue_emulator", "templates", "locale")
CATALOG = Path("LC_MESSAGES") / "django.po"


def messages(path: Path) -> dict[tuple[str, str], object]:
    """The catalog's messages by (context, msgid); "" for a message without a context."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {(m.context or "", str(m.id)): m for m in catalog if m.id}


def main(update: bool) -> int:
    languages = sorted(p.name for p in (ROOT / "locale").iterdir() if (p / CATALOG).is_file())
    if not languages:
        print("No catalogs under locale/.", file=sys.stderr)
        return 1
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="messages-check-") as tmp:
        copy = Path(tmp)
        for name in SOURCES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, copy / name)
        command = [sys.executable, "manage.py", "makemessages", "--no-obsolete"]
        command += [f"--locale={language}" for language in languages]
        # Our own interpreter and manage.py, with language codes from the names under locale/.
        done = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0 or done.stderr.strip():
            problems.append(f"makemessages failed or warned:\n{done.stderr.strip()}")
        if update and not problems:
            for language in languages:
                shutil.copy2(
                    copy / "locale" / language / CATALOG, ROOT / "locale" / language / CATALOG
                )
            print(f"Updated the catalogs of {', '.join(languages)} under locale/.")
            return 0
        for language in languages:
            made = messages(copy / "locale" / language / CATALOG)
            committed = messages(ROOT / "locale" / language / CATALOG)
            missing = sorted(made.keys() - committed.keys())
            stale = sorted(committed.keys() - made.keys())
            if missing or stale:
                problems.append(
                    f"locale/{language}/{CATALOG} is out of date (run `make messages`): "
                    f"{len(missing)} new, {len(stale)} no longer used"
                    + "".join(f"\n  new: {msgid!r}" for _, msgid in missing[:20])
                    + "".join(f"\n  unused: {msgid!r}" for _, msgid in stale[:20])
                )
            for (_, msgid), message in sorted(committed.items()):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
                if message.fuzzy or not all(strings):  # type: ignore[attr-defined]
                    problems.append(f"locale/{language}: not translated (or fuzzy): {msgid!r}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"Messages are up to date and translated: {', '.join(languages)}.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(update="--update" in sys.argv[1:]))
