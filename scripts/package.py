"""`make package`: one deployable zip per function, for Alibaba FC 3.0 and Tencent SCF alike.

Each zip holds, at its root: the function's `index.py` (handler `index.handler`, SCF `index.main_handler`) and its
`static/` folder if it has one (the admin dashboard), the `shared/` package, `config/products.json`, and the
function's own dependencies installed from wheels for the target runtime (`manylinux2014_x86_64`, CPython 3.10
by default: FC's python3.10 and SCF's Python3.10). Dependencies sit at the root beside `index.py` because both
clouds put the code folder on `sys.path` (FC `/code`, SCF `/var/user`).

Which dependencies a function needs is the table `NEEDS` (what its code path imports beyond the standard library;
checked by tests/e2e/test_packages.py, which runs every package alone in a clean interpreter), plus the storage
driver (`--storage`), the secrets SDK of the functions whose settings reference one (`--secrets`), and boto3 for the
jobs function when backups are configured (`--backups`). pip resolves
their own dependencies, pinned by requirements.txt used as constraints.

    python -m scripts.package                         # every function, sqlite, no secrets SDK
    python -m scripts.package --storage mysql --secrets ssm=create_order,order_status
    python -m scripts.package --backups               # jobs also gets boto3, for backups to OSS / COS
    python -m scripts.package --python-version 3.11   # the host's Python (what the package smoke test runs)

It prints a size table and fails (exit 1) when a package exceeds its budget (unzipped, the figure both clouds
limit). Zips are reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("create_order", "payment_notify", "order_status", "license", "jobs", "admin")
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.10"
MB = 1024 * 1024

# Top-level requirements (names as in requirements.txt) each function imports on some request path.
NEEDS: Mapping[str, tuple[str, ...]] = {
    "payment_notify": ("cryptography",),  # verify + decrypt only (design §9): no requests, no wechatpayv3
    "license": ("cryptography",),
    "order_status": ("cryptography", "wechatpayv3", "requests"),  # an overdue PENDING order is queried at WeChat
    "create_order": ("cryptography", "wechatpayv3", "requests", "qrcode"),
    "jobs": ("cryptography", "wechatpayv3", "requests"),  # close, query, refunds, bills
    "admin": ("cryptography", "wechatpayv3", "requests"),  # refunds and confirm-paid call WeChat
}
STORAGE: Mapping[str, tuple[str, ...]] = {
    "sqlite": (),
    "postgresql": ("psycopg", "psycopg-binary"),
    "mysql": ("PyMySQL",),
    "tablestore": (),  # FC's python3.10 runtime ships tablestore (its own copy is 113 MB, numpy included)
}
SECRETS: Mapping[str, tuple[str, ...]] = {"kms": (), "ssm": ("tencentcloud-sdk-python-ssm",)}  # kms: stdlib only
BACKUP_FUNCTIONS = ("jobs",)  # boto3 for the backup job, bundled only when backups are configured (--backups)

# Unzipped MB. Measured (CPython 3.10 manylinux wheels): ~15 MB for cryptography alone, ~18 MB with the outbound
# stack; the budgets leave headroom, and each optional part adds its own allowance.
BUDGET_MB: Mapping[str, float] = {
    "payment_notify": 20,
    "license": 20,
    "order_status": 22,
    "create_order": 24,
    "jobs": 24,
    "admin": 22,
}
ALLOWANCE_MB: Mapping[str, float] = {"postgresql": 12, "mysql": 1, "ssm": 6, "backups": 30}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", "bin"}


class PackageError(Exception):
    """The package could not be built, or breaks its budget."""


@dataclass
class Built:
    """One function's package and what it weighs."""

    function: str
    zip_path: Path
    unzipped_bytes: int
    zipped_bytes: int
    files: int
    distributions: list[str]
    budget_mb: float
    extras: list[str] = field(default_factory=list)

    @property
    def within_budget(self) -> bool:
        return self.unzipped_bytes <= self.budget_mb * MB


def requirements_for(function: str, storage: str, secrets: Iterable[str] = (), backups: bool = False) -> list[str]:
    if function not in NEEDS:
        raise PackageError(f"unknown function {function!r}; known: {', '.join(FUNCTIONS)}")
    if storage not in STORAGE:
        raise PackageError(f"unknown storage {storage!r}; known: {', '.join(STORAGE)}")
    names = [*NEEDS[function], *STORAGE[storage]]
    for provider in secrets:
        names.extend(SECRETS[provider])
    if backups and function in BACKUP_FUNCTIONS:
        names.append("boto3")
    return list(dict.fromkeys(names))


def _pip(args: Sequence[str]) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own arguments)
    if done.returncode != 0:
        raise PackageError(f"pip {args[0]} failed:\n{done.stderr.strip()[-2000:]}")


def install_dependencies(names: Sequence[str], target: Path, *, python_version: str, cache: Path) -> None:
    """Wheels for the target runtime into `target`, fetched once into `cache` (pip's HTTP cache helps too).

    pip evaluates dependency markers against the interpreter running it, not the target: on a 3.11 host,
    cryptography's `typing-extensions; python_full_version < '3.11'` would be left out of a 3.10 package (and
    `cryptography.hazmat.asn1` fails to import on FC). So the markers are evaluated again for the target and
    whatever is missing is installed too, until nothing is.
    """
    target.mkdir(parents=True, exist_ok=True)
    platform = ["--only-binary=:all:", "--platform", PLATFORM, "--python-version", python_version]
    platform += ["--implementation", "cp", "-c", str(ROOT / "requirements.txt")]
    wanted = list(names)
    for _ in range(5):
        if not wanted:
            return
        _pip(["download", "--dest", str(cache), *platform, *wanted])
        _pip(
            [
                "install",
                "--no-index",
                "--find-links",
                str(cache),
                "--target",
                str(target),
                "--no-compile",
                *platform,
                *wanted,
            ]
        )
        wanted = missing_requirements(target, python_version)
    raise PackageError(f"dependencies still missing after five rounds: {wanted}")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_requirements(site: Path, python_version: str) -> list[str]:
    """Requirements of the distributions in `site` that apply on the target runtime but are not installed."""
    from packaging.requirements import Requirement

    environment = {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "os_name": "posix",
        "extra": "",
    }
    installed, required = set(), set()
    for info in site.glob("*.dist-info"):
        metadata = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        name = next(line[6:] for line in metadata.splitlines() if line.startswith("Name: "))
        installed.add(_normalise(name.strip()))
        for line in metadata.splitlines():
            if line.startswith("Requires-Dist: "):
                requirement = Requirement(line[len("Requires-Dist: ") :])
                if requirement.marker is None or requirement.marker.evaluate(environment):
                    required.add(_normalise(requirement.name))
    return sorted(required - installed)


def _copy_tree(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def stage_code(function: str, stage: Path) -> None:
    index = ROOT / "functions" / function / "index.py"
    if not index.is_file():
        raise PackageError(f"functions/{function}/index.py does not exist: no package for {function}")
    stage.mkdir(parents=True, exist_ok=True)
    shutil.copy2(index, stage / "index.py")
    static = index.parent / "static"  # a function's own files (the admin dashboard), beside index.py
    if static.is_dir():
        _copy_tree(static, stage / "static")
    _copy_tree(ROOT / "shared", stage / "shared")
    (stage / "config").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "config" / "products.json", stage / "config" / "products.json")


def write_zip(stage: Path, zip_path: Path) -> tuple[int, int, int]:
    """(unzipped bytes, zipped bytes, files); sorted entries with fixed times, so the same input gives the same zip."""
    files = sorted(p for p in stage.rglob("*") if p.is_file() and not _SKIP_PARTS & set(p.relative_to(stage).parts))
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(stage).as_posix(), _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if path.suffix == ".so" else 0o644) << 16
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data, compresslevel=9)
    return unzipped, zip_path.stat().st_size, len(files)


def _distributions(site: Path) -> list[str]:
    return sorted(p.name.removesuffix(".dist-info") for p in site.glob("*.dist-info"))


def build(
    functions: Sequence[str],
    out: Path,
    *,
    storage: str = "sqlite",
    secrets: Mapping[str, Sequence[str]] | None = None,
    python_version: str = PYTHON_VERSION,
    cache: Path | None = None,
    backups: bool = False,
) -> list[Built]:
    """Build each function's zip into `out`; `secrets` maps a function to the providers its settings reference."""
    secrets = secrets or {}
    cache = cache or ROOT / ".data" / "wheels" / f"{PLATFORM}-cp{python_version.replace('.', '')}"
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    installed: dict[tuple[str, ...], Path] = {}  # one install per distinct dependency set
    results = []
    for function in functions:
        providers = sorted(set(secrets.get(function, ())))
        names = requirements_for(function, storage, providers, backups)
        key = tuple(sorted(names))
        if key not in installed:
            installed[key] = work / f"deps-{len(installed)}"
            install_dependencies(names, installed[key], python_version=python_version, cache=cache)
        stage = work / function
        _copy_tree(installed[key], stage)
        stage_code(function, stage)
        unzipped, zipped, files = write_zip(stage, out / f"{function}.zip")
        with_backups = backups and function in BACKUP_FUNCTIONS
        extras = [e for e in (storage, *providers, "backups" if with_backups else "") if e in ALLOWANCE_MB]
        budget = BUDGET_MB[function] + sum(ALLOWANCE_MB[e] for e in extras)
        results.append(
            Built(function, out / f"{function}.zip", unzipped, zipped, files, _distributions(stage), budget, extras)
        )
    shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "platform": PLATFORM,
        "python_version": python_version,
        "storage": storage,
        "packages": {
            b.function: {
                "zip": b.zip_path.name,
                "unzipped_bytes": b.unzipped_bytes,
                "zipped_bytes": b.zipped_bytes,
                "files": b.files,
                "budget_mb": b.budget_mb,
                "distributions": b.distributions,
            }
            for b in results
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return results


def size_table(results: Sequence[Built]) -> str:
    lines = [
        "| function | unzipped | zipped | files | budget (unzipped) | dependencies |",
        "|---|---|---|---|---|---|",
    ]
    for b in results:
        mark = "" if b.within_budget else " **OVER**"
        deps = ", ".join(d.split("-")[0] for d in b.distributions)
        lines.append(
            f"| {b.function} | {b.unzipped_bytes / MB:.1f} MB{mark} | {b.zipped_bytes / MB:.1f} MB | {b.files} "
            f"| {b.budget_mb:g} MB | {deps} |"
        )
    return "\n".join(lines)


def parse_secrets(values: Sequence[str]) -> dict[str, list[str]]:
    """`ssm=create_order,order_status` (or `kms=all`) -> {function: [provider, ...]}."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        provider, _, names = value.partition("=")
        if provider not in SECRETS or not names:
            raise PackageError(f"--secrets takes kms=<functions|all> or ssm=<functions|all>, not {value!r}")
        for name in FUNCTIONS if names == "all" else names.split(","):
            chosen.setdefault(name.strip(), []).append(provider)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", default=",".join(FUNCTIONS), help="comma-separated (default: all)")
    parser.add_argument("--storage", default="sqlite", choices=sorted(STORAGE))
    parser.add_argument("--secrets", action="append", default=[], help="kms|ssm=<functions|all> (repeatable)")
    parser.add_argument("--backups", action="store_true", help="bundle boto3 into jobs (BACKUP_S3_BUCKET is set)")
    parser.add_argument("--python-version", default=PYTHON_VERSION, help="the runtime's CPython (default 3.10)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "packages")
    args = parser.parse_args(argv)
    try:
        results = build(
            [f.strip() for f in args.functions.split(",") if f.strip()],
            args.out,
            storage=args.storage,
            secrets=parse_secrets(args.secrets),
            python_version=args.python_version,
            backups=args.backups,
        )
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    print(size_table(results))
    over = [b.function for b in results if not b.within_budget]
    if over:
        print(f"package: over budget: {', '.join(over)}", file=sys.stderr)
        return 1
    print(f"packages in {args.out} (CPython {args.python_version}, {PLATFORM}, storage {args.storage})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
