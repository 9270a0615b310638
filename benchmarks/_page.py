"""Each benchmark writes its own page of the documentation site: ``--page`` on any script here.

    .venv/bin/python benchmarks/history.py --page

runs the script as usual (each ends with `from _page import run as run_with_page`, a name that
cannot shadow one of its own) and also writes what it printed into ``docs/benchmarks/<script>.md``,
between the markers below, under the date, the commit and the machine it ran on, so that a figure
on the site always says where it came from. The text around the markers (what the benchmark
measures and how to read it) is written by hand and kept.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- the script's last run: written by --page, do not edit -->", "<!-- end of the script's run -->"


def docs_dir() -> Path:
    """Where pages go: ``BENCH_DOCS_DIR`` (tests), else the repository's docs/benchmarks/."""
    return Path(os.environ.get("BENCH_DOCS_DIR") or ROOT / "docs" / "benchmarks")


def provenance() -> dict[str, str]:
    """The date, the commit (with "-dirty" for uncommitted changes) and the machine."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += "-dirty"
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "machine": f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"}


def section(output: str, command: str, seconds: float, facts: dict[str, str] | None = None) -> str:
    facts = facts or provenance()
    return (f"{START}\n\n## Last run\n\n`{command}` on {facts['date']}, commit `{facts['commit']}`, "
            f"{facts['machine']}; {seconds:.0f} s.\n\n```text\n{output.rstrip()}\n```\n\n{END}")


def write(script: str, output: str, command: str, seconds: float) -> Path:
    """Put the run into the script's page: between the markers if the page has them, else at its end."""
    page = docs_dir() / f"{Path(script).stem}.md"
    new = section(output, command, seconds)
    old = page.read_text(encoding="utf-8") if page.exists() else f"# `benchmarks/{Path(script).name}`\n\n"
    if START in old and END in old:
        text = old[:old.index(START)] + new + old[old.index(END) + len(END):]
    else:
        text = old.rstrip() + "\n\n" + new + "\n"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    return page


class _Tee(io.TextIOBase):
    def __init__(self, stream):
        self.stream, self.buffer_ = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        return self.buffer_.write(text)

    def flush(self) -> None:
        self.stream.flush()


def run(main: Callable[[], object], script: str) -> None:
    """Run a benchmark's ``main``; with ``--page`` among its arguments, also write its page."""
    if "--page" not in sys.argv[1:]:
        main()
        return
    import time

    sys.argv = [a for a in sys.argv if a != "--page"]
    command = " ".join(["python", f"benchmarks/{Path(script).name}", *sys.argv[1:]])
    tee = _Tee(sys.stdout)
    start = time.perf_counter()
    status = None
    with contextlib.redirect_stdout(tee):
        try:
            main()
        except SystemExit as exc:  # a script that ends with its own exit status still gets its page
            status = exc.code
    page = write(script, tee.buffer_.getvalue(), command, time.perf_counter() - start)
    print(f"wrote {page}")
    if status not in (None, 0):
        sys.exit(status)
