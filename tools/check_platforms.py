"""Proof, run on Linux, that the instrument installs on macOS and Windows: every dependency has a binary wheel there.

For each target (platform tag x Python version) pip resolves the project's dependencies
(read from pyproject.toml, plus the extras a user there is told to install) with
``pip install --dry-run --ignore-installed --only-binary=:all: --platform TAG --python-version V --report``.
Nothing is installed; pip reads the index (through this machine's pip configuration).

pip evaluates environment markers against the machine it runs on, not the target, so:
the project's own requirements are filtered here with the target's markers, and every
resolved package's ``requires_dist`` is checked against the target's markers; a dependency
the target needs that pip left out is added and the target resolved again.

Exit status: 0 when every target resolves, or when the index cannot be reached (then the
output says SKIPPED and why); 1 when a target does not resolve (the output names the package).

    python tools/check_platforms.py [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12")
# Extras a user on some platform is told to install (markers keep each to its platform).
USER_EXTRAS = ("metal",)
# Shown in the summary line of each target.
KEY_PACKAGES = ("tensorflow", "ai-edge-litert", "tensorflow-metal", "sounddevice", "soundfile", "h5py")
PIP_TIMEOUT_S = 600
# pip's words for "could not talk to the index" (as opposed to "the index has no such wheel").
_NETWORK_TROUBLE = re.compile(
    r"NewConnectionError|ConnectTimeout|ConnectionError|Max retries exceeded|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable|Connection refused|ProxyError|Read timed out"
    r"|Could not fetch URL|SSLError|CERTIFICATE_VERIFY_FAILED"
)


@dataclass(frozen=True)
class Platform:
    label: str
    tag: str  # pip --platform
    markers: dict[str, str]  # what PEP 508 markers see there


PLATFORMS = (
    Platform(
        "macOS Apple Silicon",
        "macosx_12_0_arm64",  # TensorFlow's arm64 wheels need macOS 12
        {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64", "os_name": "posix"},
    ),
    Platform(
        "macOS Intel",
        "macosx_10_15_x86_64",  # the oldest that resolves: TensorFlow 2.16.2, its last Intel-Mac wheel, needs 10.15
        {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64", "os_name": "posix"},
    ),
    Platform(
        "Windows x64",
        "win_amd64",
        {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"},
    ),
)


def target_environment(platform: Platform, python: str) -> dict[str, str]:
    """The marker environment of CPython ``python`` (e.g. "3.12") on ``platform``."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_version": python,
        "python_full_version": f"{python}.0",
        **platform.markers,
    }


def project_requirements(pyproject: Path = ROOT / "pyproject.toml", extras: tuple[str, ...] = USER_EXTRAS) -> list[str]:
    """The dependencies and the given extras' requirements, as written in pyproject.toml."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    missing = [name for name in extras if name not in optional]
    if missing:
        raise SystemExit(f"check-platforms: pyproject.toml has no extra {', '.join(missing)}")
    return [*project["dependencies"], *(req for name in extras for req in optional[name])]


def requirements_for(requirements: list[str], env: dict[str, str]) -> list[str]:
    """The requirements that apply in ``env``, markers removed (pip would judge them by this machine)."""
    kept = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
            req.marker = None
            kept.append(str(req))
    return kept


def missing_dependencies(report: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Requirements the target needs (by its own markers) that are not in pip's resolution."""
    installed = {canonicalize_name(item["metadata"]["name"]): item for item in report["install"]}
    extras: dict[str, set[str]] = {name: set(item.get("requested_extras") or []) for name, item in installed.items()}
    missing: dict[str, str] = {}
    changed = True
    while changed:  # extras asked for by one package enable more requirements of another
        changed = False
        for name, item in installed.items():
            for text in item["metadata"].get("requires_dist") or []:
                req = Requirement(text)
                if not _applies(req.marker, env, extras[name]):
                    continue
                dep = canonicalize_name(req.name)
                if dep not in installed:
                    req.marker = None
                    missing.setdefault(dep, str(req))
                elif not req.extras <= extras[dep]:
                    extras[dep] |= req.extras
                    changed = True
    return sorted(missing.values())


def _applies(marker: Marker | None, env: dict[str, str], extras: set[str]) -> bool:
    return marker is None or any(marker.evaluate({**env, "extra": extra}) for extra in ("", *extras))


@dataclass
class Outcome:
    platform: Platform
    python: str
    ok: bool = False
    seconds: float = 0.0
    wheels: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    network: str = ""  # set when the index could not be reached

    def line(self) -> str:
        head = f"{self.platform.label:<20} {self.platform.tag:<20} py{self.python}"
        if self.network:
            return f"{head}  SKIPPED  {self.network}"
        if not self.ok:
            return f"{head}  FAILED   " + "\n    ".join(self.errors)
        keys = ", ".join(f"{name} {self.versions[name]}" for name in KEY_PACKAGES if name in self.versions)
        return f"{head}  ok  {self.wheels} wheels in {self.seconds:.1f} s: {keys}"


def pip_command(
    requirements: list[str], platform: Platform, python: str, report: Path, constraints: Path | None = None
) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
        "--platform", platform.tag, "--python-version", python, "--implementation", "cp",
        "--report", str(report), "--quiet", "--no-input", "--disable-pip-version-check",
        "--timeout", "30", "--retries", "2", *(["--constraint", str(constraints)] if constraints else []),
        *requirements,
    ]  # fmt: skip


def _run_pip(command: list[str], outcome: Outcome) -> bool:
    """Run one resolution; on failure fill ``outcome`` (network trouble or the ERROR lines naming the package)."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=PIP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        outcome.network = f"pip took over {PIP_TIMEOUT_S} s (is the index reachable?)"
        return False
    if done.returncode == 0:
        return True
    lines = [ln for ln in done.stderr.splitlines() if not ln.startswith("WARNING: Location")]
    trouble = next((ln for ln in lines if _NETWORK_TROUBLE.search(ln)), "")
    if trouble:
        outcome.network = f"the package index could not be reached: {trouble.strip()[:200]}"
    else:
        outcome.errors = [ln for ln in lines if ln.startswith("ERROR")] or lines[-5:]
    return False


def resolve(platform: Platform, python: str, requirements: list[str], workdir: Path) -> Outcome:
    """Resolve for one target, then what pip left out by this machine's markers (pinned to the first result)."""
    outcome = Outcome(platform, python)
    env = target_environment(platform, python)
    stem = f"{platform.tag}-py{python}"
    started = time.monotonic()
    report_path = workdir / f"{stem}.json"
    if not _run_pip(pip_command(requirements_for(requirements, env), platform, python, report_path), outcome):
        return outcome
    report = json.loads(report_path.read_text(encoding="utf-8"))
    for round_number in (2, 3):
        extra = missing_dependencies(report, env)
        if not extra:
            break
        # Only the missing ones, with everything already resolved pinned: quick, and consistent with it.
        pins = workdir / f"{stem}.pins{round_number}.txt"
        pins.write_text(
            "".join(f"{i['metadata']['name']}=={i['metadata']['version']}\n" for i in report["install"]),
            encoding="utf-8",
        )
        more_path = workdir / f"{stem}.round{round_number}.json"
        if not _run_pip(pip_command(extra, platform, python, more_path, pins), outcome):
            return outcome
        have = {canonicalize_name(i["metadata"]["name"]) for i in report["install"]}
        more = json.loads(more_path.read_text(encoding="utf-8"))["install"]
        report["install"] += [i for i in more if canonicalize_name(i["metadata"]["name"]) not in have]
    else:
        extra = missing_dependencies(report, env)
        if extra:
            outcome.errors = [f"dependencies still missing after three rounds: {', '.join(extra)}"]
            return outcome
    outcome.seconds = time.monotonic() - started
    urls = [item["download_info"]["url"] for item in report["install"]]
    not_wheels = [url for url in urls if not url.endswith(".whl")]
    if not_wheels:
        outcome.errors = [f"not a wheel: {url}" for url in not_wheels]
        return outcome
    outcome.ok = True
    outcome.wheels = len(report["install"])
    outcome.versions = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    return outcome


def pip_settings() -> dict[str, str]:
    """pip's own configuration (files and PIP_* variables), later sources overriding earlier ones."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, encoding="utf-8"
    )
    order = {"global": 0, "user": 1, "site": 2, ":env:": 3}
    found: list[tuple[int, str, str]] = []
    for line in done.stdout.splitlines():
        match = re.match(r"^([^.=]+)\.([\w-]+)='(.*)'$", line.strip())
        if match:
            scope, key, value = match.groups()
            found.append((order.get(scope, 1), key, value))
    return {key: value for _, key, value in sorted(found)}


def index_unreachable(settings: dict[str, str], timeout: float = 15.0) -> str:
    """Why the main index cannot be reached ("" when it answers)."""
    index = settings.get("index-url", "https://pypi.org/simple").split()[0].rstrip("/")
    url = f"{index}/pip/"
    if url.startswith("file:"):
        return ""
    handlers: list[Any] = []
    if settings.get("proxy"):
        handlers.append(urllib.request.ProxyHandler({"http": settings["proxy"], "https": settings["proxy"]}))
    cafile = settings.get("cert")
    handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile or None)))
    try:
        with urllib.request.build_opener(*handlers).open(url, timeout=timeout) as response:
            response.read(1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return f"the package index {index} cannot be reached ({reason})"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=6, help="resolutions run at once (default 6)")
    parser.add_argument("--keep", metavar="DIR", help="keep pip's JSON reports in DIR")
    parser.add_argument("--pyproject", metavar="FILE", default=str(ROOT / "pyproject.toml"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    started = time.monotonic()
    requirements = project_requirements(Path(args.pyproject))
    reason = index_unreachable(pip_settings())
    if reason:
        print(f"check-platforms: SKIPPED: {reason}; no wheel was checked")
        return 0
    # Windows first: it usually needs a second round (tqdm's colorama is a Windows-only dependency).
    targets = [(platform, python) for platform in reversed(PLATFORMS) for python in PYTHONS]
    with tempfile.TemporaryDirectory(prefix="check-platforms-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda t: resolve(t[0], t[1], requirements, workdir), targets))
    for outcome in sorted(outcomes, key=lambda o: (PLATFORMS.index(o.platform), o.python)):
        print(outcome.line())
    elapsed = time.monotonic() - started
    skipped = [o for o in outcomes if o.network]
    failed = [o for o in outcomes if not o.ok and not o.network]
    if failed:
        names = ", ".join(f"{o.platform.tag} py{o.python}" for o in failed)
        print(f"check-platforms: FAILED: {names} did not resolve to binary wheels ({elapsed:.0f} s)")
        return 1
    if skipped:
        print(f"check-platforms: SKIPPED: {len(skipped)} of {len(outcomes)} targets: the index could not be reached")
        return 0
    print(f"check-platforms: all {len(outcomes)} targets resolve to binary wheels ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
