"""Package sizes: what each function's deployment must contain, estimated from what it actually imports.

Method: a fresh process imports the function's handler and serves its first request (so lazy imports happen);
every module in `sys.modules` then has a file. Modules an idle interpreter already holds (`site` and what the
virtualenv's .pth files add, e.g. setuptools' `_distutils_hack`) are left out; of the rest, modules under the
code root are ours, modules in site-packages are mapped to their installed distributions (importlib.metadata),
and everything else is the runtime's standard library.

- `loaded_mb`: the bytes of the module files actually loaded (sources and extension modules), ours + third-party;
- `package_mb`: what a zip would hold: `functions/<name>/` with its `static/` files if it has any (the admin
  dashboard), all of `shared/` and `config/` (bundled into every function), and every file of each distribution the function imported from (whole distributions: nobody ships
  half a wheel), without `__pycache__`;
- `requirements_mb`: the same with every runtime distribution of requirements.txt, the naive package.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from shared.config import CODE_ROOT

MB = 1024 * 1024
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"]).resolve()
PLATLIB = Path(sysconfig.get_paths()["platlib"]).resolve()


def _files(root: Path, suffixes: tuple[str, ...] | None = (".py", ".json")) -> Iterable[Path]:
    """The files under `root` (those ending in `suffixes`; every one when None), without bytecode caches."""
    return (
        p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and (suffixes is None or p.suffix in suffixes)
    )


def code_files(function: str) -> list[Path]:
    """Our files in the function's package: its code, its static files (whatever their kind), shared/, config/."""
    folder = CODE_ROOT / "functions" / function
    static = folder / "static"
    files = [p for p in _files(folder) if not _in(p, static)]
    files += _files(static, None) if static.is_dir() else []
    return [*files, *_files(CODE_ROOT / "shared"), *_files(CODE_ROOT / "config")]


def _bytes(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


@cache
def _distributions_by_top_level() -> Mapping[str, tuple[str, ...]]:
    return {name: tuple(dists) for name, dists in metadata.packages_distributions().items()}


@cache
def distribution_bytes(name: str) -> int:
    """Every installed file of a distribution except bytecode caches."""
    dist = metadata.distribution(name)
    total = 0
    for entry in dist.files or ():
        if "__pycache__" in entry.parts:
            continue
        path = Path(str(dist.locate_file(entry)))
        if path.is_file():
            total += path.stat().st_size
    return total


def _in(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def classify(modules: Mapping[str, str], baseline: Iterable[str] = ()) -> dict[str, Any]:
    """Our files, third-party files and distributions, from module name -> file, minus the `baseline` modules."""
    ours: set[Path] = set()
    third_party: set[Path] = set()
    distributions: set[str] = set()
    idle = set(baseline)
    for name, file in modules.items():
        if name in idle:
            continue
        path = Path(file).resolve()
        if not path.is_file():
            continue
        if _in(path, SITE_PACKAGES) or _in(path, PLATLIB):
            third_party.add(path)
            distributions.update(_distributions_by_top_level().get(name.partition(".")[0], ()))
        elif _in(path, CODE_ROOT):
            ours.add(path)
    return {"ours": ours, "third_party": third_party, "distributions": sorted(distributions)}


def runtime_requirements() -> list[str]:
    names = []
    for line in (CODE_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(line.split("==")[0].split(">=")[0].strip())
    return names


def package_sizes(function: str, modules: Mapping[str, str], baseline: Iterable[str] = ()) -> dict[str, Any]:
    found = classify(modules, baseline)
    code = _bytes(code_files(function))
    dists = {name: round(distribution_bytes(name) / MB, 2) for name in found["distributions"]}
    everything = sum(distribution_bytes(name) for name in runtime_requirements())
    return {
        "loaded_mb": round((_bytes(found["ours"]) + _bytes(found["third_party"])) / MB, 2),
        "code_mb": round(code / MB, 2),
        "package_mb": round((code + sum(distribution_bytes(n) for n in found["distributions"])) / MB, 2),
        "requirements_mb": round((code + everything) / MB, 2),
        "distributions": dists,
        "modules_loaded": len(modules),
    }
