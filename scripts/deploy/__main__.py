"""`python -m scripts.deploy`: the dry run, or package + check + the cloud's own tool (see scripts/deploy/__init__)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from scripts import package
from scripts.deploy import settings as s
from scripts.deploy.checks import ROOT, dry_run, load
from shared.errors import ConfigError
from shared.secrets import parse


class DeployError(Exception):
    """Deployment stopped before the cloud tool ran (or the tool failed)."""


def deploy_environment(cloud: str, stage: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The tool's environment: the shell's, with the deploy knobs' and the optional settings' defaults."""
    env = dict(environ)
    for name, value in {**s.DEPLOY_DEFAULTS[cloud], **s.DEFAULTS}.items():
        env.setdefault(name, value)
    if stage:
        env["DEPLOY_STAGE"] = stage
    if cloud == "scf":
        env.setdefault("SECRETS_SSM_REGION", env["DEPLOY_REGION"])
    return env


def function_values(cloud: str, function: str, env: Mapping[str, str]) -> dict[str, str]:
    names = (*s.FUNCTION_SETTINGS[function], *s.CLOUD_SETTINGS[cloud])
    return {name: s.LITERALS.get(name, env.get(name, s.DEFAULTS.get(name, ""))) for name in names}


def preflight(cloud: str, env: Mapping[str, str]) -> dict[str, list[str]]:
    """Checks on the values about to be deployed (never printed); returns each function's secret providers."""
    problems: list[str] = []
    providers: dict[str, list[str]] = {}
    own = "kms" if cloud == "fc" else "ssm"
    for function in s.FUNCTIONS:
        values = function_values(cloud, function, env)
        missing = sorted(n for n, v in values.items() if not v and n not in s.DEFAULTS)
        if missing:
            problems.append(f"{function}: set {', '.join(missing)} in the deploying environment")
        used = set()
        for name, value in values.items():
            try:
                reference = parse(value, name)
            except Exception as exc:  # ConfigError: names the setting only
                problems.append(f"{function}: {exc}")
                continue
            if reference is not None:
                used.add(reference.provider)
                if reference.provider != own:
                    problems.append(
                        f"{function}: {name} is a {reference.provider}:// reference; on {cloud} use {own}://"
                    )
        problems.extend(f"{function}: {problem}" for problem in _insecure_urls(values))
        size = sum(len(n) + len(v.encode()) for n, v in values.items() if v)
        if size > s.ENV_LIMIT_BYTES:
            problems.append(
                f"{function}: its environment is {size} bytes, over the clouds' 4 KB: move PEM values to "
                f"{own}:// references (docs/deploy.md, Secrets)"
            )
        providers[function] = sorted(used)
    if problems:
        raise DeployError("\n".join(problems))
    return providers


def _insecure_urls(values: Mapping[str, str]) -> Iterator[str]:
    """The URL settings as the functions will check them at start-up (https:// only, the notify URL by WeChat's
    rules): a deployment that would stop at its first request stops here. References are checked when read."""
    from shared.config import https_url, notify_url

    for name in s.HTTPS_SETTINGS:
        value = values.get(name, "").strip()
        try:
            if not value or parse(value, name) is not None:
                continue
            if name == "WECHATPAY_NOTIFY_URL":
                notify_url({name: value}, name)
            else:
                https_url({}, name, value.rstrip("/"))
        except ConfigError as exc:  # names the setting, never its value
            yield str(exc)


def build_packages(cloud: str, env: Mapping[str, str], providers: Mapping[str, list[str]]) -> None:
    scheme = env.get("STORAGE_URL", "").partition("://")[0].lower()
    storage = scheme if scheme in package.STORAGE and not parse(env.get("STORAGE_URL", ""), "STORAGE_URL") else None
    if storage is None:  # a reference: the scheme is only known at run time
        storage = env.get("DEPLOY_STORAGE", "")
        if storage not in package.STORAGE:
            raise DeployError("STORAGE_URL is a secret reference: say which driver to bundle with DEPLOY_STORAGE")
    backups = bool(env.get("BACKUP_S3_BUCKET", "").strip())
    results = package.build(
        s.FUNCTIONS, ROOT / "build" / "packages", storage=storage, secrets=providers, backups=backups
    )
    print(package.size_table(results))
    over = [b.function for b in results if not b.within_budget]
    if over:
        raise DeployError(f"over budget: {', '.join(over)}")


def render_scf(env: Mapping[str, str], out: Path, root: Path = ROOT) -> list[Path]:
    """template.yaml -> one serverless.yml per function (verbatim instance, plus app, stage and src: ./code).

    Values stay `${env:NAME}` references for the tool to resolve from its environment; nothing secret is written.
    A setting whose value is empty is left out (SCF has no use for an empty variable).
    """
    document = load(root / "template.yaml")
    shutil.rmtree(out, ignore_errors=True)
    written = []
    for function, instance in document["instances"].items():
        folder = out / function
        code = folder / "code"
        with zipfile.ZipFile(root / instance["inputs"]["src"]) as archive:
            archive.extractall(code)
        rendered: dict[str, Any] = {"app": document["app"], "stage": document["stage"], **instance}
        inputs = dict(rendered["inputs"])
        inputs["src"] = "./code"
        variables = inputs["environment"]["variables"]
        inputs["environment"] = {
            "variables": {k: v for k, v in variables.items() if s.LITERALS.get(k) == v or env.get(k, "") != ""}
        }
        rendered["inputs"] = inputs
        (folder / "serverless.yml").write_text(yaml.safe_dump(rendered, sort_keys=False, allow_unicode=True))
        written.append(folder / "serverless.yml")
    return written


def run_tool(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise DeployError(f"`{command[0]}` is not installed (docs/deploy.md, Tools)")
    print(f"$ {' '.join(command)}   (in {cwd.relative_to(ROOT)})", flush=True)
    if subprocess.run(command, cwd=cwd, env=dict(env), check=False).returncode != 0:  # noqa: S603 (fixed commands)
        raise DeployError(f"`{' '.join(command)}` failed")


def deploy(cloud: str, stage: str | None, *, render_only: bool, environ: Mapping[str, str]) -> None:
    problems = dry_run()
    if problems:
        raise DeployError("the dry run failed:\n" + "\n".join(f"- {p}" for p in problems))
    env = deploy_environment(cloud, stage, environ)
    providers = preflight(cloud, env)
    build_packages(cloud, env, providers)
    if cloud == "fc":
        if not render_only:
            run_tool(["s", "deploy", "-y", "-t", "s.yaml"], ROOT, env)
        return
    out = ROOT / "build" / "scf" / env["DEPLOY_STAGE"]
    for path in render_scf(env, out):
        print(f"rendered {path.relative_to(ROOT)}")
    if not render_only:
        run_tool(["scf", "deploy"], out, env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy", description=__doc__)
    parser.add_argument("cloud", nargs="?", choices=("fc", "scf"), help="deploy to Alibaba FC 3.0 or Tencent SCF")
    parser.add_argument("--dry-run", action="store_true", help="validate both templates offline and stop")
    parser.add_argument("--stage", help="dev, staging or prod (DEPLOY_STAGE; default dev)")
    parser.add_argument("--render-only", action="store_true", help="package and render, but do not run the tool")
    args = parser.parse_args(argv)
    if args.dry_run or not args.cloud:
        problems = dry_run()
        for problem in problems:
            print(f"- {problem}")
        checked = "s.yaml and template.yaml"
        print(f"dry run: {len(problems)} problem(s) in {checked}" if problems else f"dry run: {checked} OK")
        return 1 if problems else 0
    try:
        deploy(args.cloud, args.stage, render_only=args.render_only, environ=os.environ)
    except (DeployError, package.PackageError) as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
