"""The dry run: both templates checked against the code and the rules, offline, without credentials.

What it proves: both files parse; every function is declared in both, with its handler module present and exposing
`handler` (FC) / `main_handler` (SCF); runtimes, memory, CPU and timeouts within each cloud's limits; HTTP functions
reachable anonymously, timer triggers naming jobs the jobs function knows; every environment name the code reads is
set in both templates (or is documented as platform-provided or one cloud's own), none is set that the code does
not read, each setting takes its value from the deploying shell under its own name, and no secret is a literal; the
FC domain routes send each path to the function the local gateway sends it to; both are HTTPS only (the FC domain's
protocol HTTPS with its certificate from the shell and TLS 1.2 at least, the FC triggers' plain-HTTP default URL off,
no SCF API Gateway trigger), and LOCAL_STACK is in neither. What it cannot prove: that the cloud
tools accept every property (they only run with credentials; see docs/deploy.md for what was checked and how).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from scripts.deploy import settings as s

ROOT = Path(__file__).resolve().parents[2]
CODE_READING_ENV = ("shared/config.py", "shared/log.py", "shared/secrets")
FC_RUNTIMES = ("python3.10", "python3.12")
SCF_RUNTIMES = ("Python3.10",)
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_FC_ENV = re.compile(r"\$\{env\('([A-Z0-9_]+)'(?:,\s*'[^']*')?\)\}")
_SCF_ENV = re.compile(r"\$\{env:([A-Z0-9_]+)\}")
_SECRET_LOOKING = re.compile(r"-----BEGIN|[A-Za-z0-9+/_=-]{40,}")


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path.name} is not a YAML mapping")
    return document


def code_env_names(root: Path = ROOT) -> set[str]:
    """Every string constant shaped like an environment variable name in the modules that read the environment."""
    names: set[str] = set()
    for entry in CODE_READING_ENV:
        path = root / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and _ENV_NAME.fullmatch(node.value):
                    names.add(node.value)
    return names


def _top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def known_jobs(root: Path = ROOT) -> set[str]:
    """The job names functions/jobs/index.py accepts (the keys of its JOBS table), read without importing it."""
    path = root / "functions" / "jobs" / "index.py"
    if not path.is_file():
        return set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "JOBS" and isinstance(value, ast.Dict):
            return {k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return set()


def check_handlers(root: Path = ROOT) -> Iterator[str]:
    for function in s.FUNCTIONS:
        path = root / "functions" / function / "index.py"
        if not path.is_file():
            yield f"functions/{function}/index.py does not exist (both templates deploy it)"
            continue
        missing = {"handler", "main_handler"} - _top_level_names(path)
        if missing:
            yield f"functions/{function}/index.py does not define {', '.join(sorted(missing))}"


def _strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}[{index}]")
    elif isinstance(node, str):
        yield where, node


def check_environment(cloud: str, function: str, variables: Any) -> Iterator[str]:
    where = f"{'s.yaml' if cloud == 'fc' else 'template.yaml'} {function}"
    if not isinstance(variables, dict):
        yield f"{where}: no environment variables"
        return
    expected = set(s.FUNCTION_SETTINGS[function]) | set(s.CLOUD_SETTINGS[cloud])
    for name in sorted(expected - set(variables)):
        yield f"{where}: {name} is not set"
    for name in sorted(set(variables) - expected):
        if name in s.LOCAL_ONLY:
            yield f"{where}: {name} is for the local stack only (it allows http:// URLs); never deploy it"
            continue
        yield f"{where}: {name} is set but {function} does not read it (a typo, or settings.py is out of date)"
    pattern = _FC_ENV if cloud == "fc" else _SCF_ENV
    for name, value in variables.items():
        value = str(value)
        if name in s.LITERALS:
            if value != s.LITERALS[name]:
                yield f"{where}: {name} must be {s.LITERALS[name]}"
            continue
        match = pattern.fullmatch(value)
        if not match or match.group(1) != name:
            yield f"{where}: {name} must come from the deploying shell's {name}, as {_example(cloud, name)}"
        elif name in s.SECRET_SETTINGS and value != _example(cloud, name):
            yield f"{where}: {name} is a secret: {_example(cloud, name)}, with no default"


def _example(cloud: str, name: str) -> str:
    return f"${{env('{name}')}}" if cloud == "fc" else f"${{env:{name}}}"


def check_no_secret_literals(document: Any, name: str) -> Iterator[str]:
    for where, value in _strings(document):
        if _SECRET_LOOKING.search(value) and not value.startswith("${"):
            yield f"{name} {where}: looks like a key or a secret written into the file; use the shell's environment"


def check_fc(document: Mapping[str, Any], jobs: set[str]) -> Iterator[str]:
    if document.get("edition") != "3.0.0":
        yield "s.yaml: edition must be 3.0.0 (Serverless Devs 3)"
    resources = document.get("resources") or {}
    for function in s.FUNCTIONS:
        resource = resources.get(function)
        if not isinstance(resource, dict) or resource.get("component") != "fc3":
            yield f"s.yaml: resource {function} (component fc3) is missing"
            continue
        props = resource.get("props") or {}
        yield from _fc_props(function, props, jobs)
        yield from check_environment("fc", function, props.get("environmentVariables"))
    yield from check_domain(resources)


def _fc_props(function: str, props: Mapping[str, Any], jobs: set[str]) -> Iterator[str]:
    where = f"s.yaml {function}"
    if props.get("handler") != "index.handler":
        yield f"{where}: handler must be index.handler"
    if props.get("runtime") not in FC_RUNTIMES:
        yield f"{where}: runtime must be one of {', '.join(FC_RUNTIMES)}"
    if props.get("code") != f"./build/packages/{function}.zip":
        yield f"{where}: code must be ./build/packages/{function}.zip (scripts/package)"
    memory, cpu, timeout = props.get("memorySize"), props.get("cpu"), props.get("timeout")
    if not isinstance(memory, int) or memory < 128 or memory % 64:
        yield f"{where}: memorySize must be a multiple of 64 MB, at least 128"
    elif not isinstance(cpu, (int, float)) or not 1 <= (memory / 1024) / cpu <= 4:
        yield f"{where}: cpu must keep vCPU:GiB between 1:1 and 1:4 ({memory} MB)"
    if not isinstance(timeout, int) or not 1 <= timeout <= 86400:
        yield f"{where}: timeout must be 1..86400 s"
    for required in ("role", "logConfig"):
        if not props.get(required):
            yield f"{where}: {required} is not set"
    triggers = props.get("triggers") or []
    http = [t for t in triggers if t.get("triggerType") == "http"]
    timers = [t for t in triggers if t.get("triggerType") == "timer"]
    if function in s.HTTP_FUNCTIONS and not any(
        (t.get("triggerConfig") or {}).get("authType") == "anonymous" for t in http
    ):
        yield f"{where}: needs an anonymous HTTP trigger"
    for trigger in http:
        if (trigger.get("triggerConfig") or {}).get("disableURLInternet") is not True:
            yield f"{where}: HTTP trigger {trigger.get('triggerName')}: disableURLInternet must be true (its default "
            "URL also serves plain HTTP; the HTTPS domain is the public entry)"
    if function in s.TIMER_FUNCTIONS:
        yield from _timers(where, [(t.get("triggerConfig") or {}).get("payload") for t in timers], jobs)


def _timers(where: str, payloads: Iterable[Any], jobs: set[str]) -> Iterator[str]:
    payloads = list(payloads)
    if not payloads:
        yield f"{where}: needs timer triggers"
    for payload in payloads:
        names = {n for n in re.split(r"[\s,]+", str(payload or "")) if n}
        if not names or (jobs and not names <= jobs | {"all"}):
            yield f"{where}: timer payload {payload!r} names jobs functions/jobs does not know ({sorted(jobs)})"


def check_domain(resources: Mapping[str, Any]) -> Iterator[str]:
    """Every domain route goes where scripts/gateway.py sends the same path, and every function has a route."""
    from scripts.gateway import function_for

    domain = resources.get("domain") or {}
    props = domain.get("props") or {}
    if domain.get("component") != "fc3-domain":
        yield "s.yaml: resource domain (component fc3-domain, HTTPS) is missing"
        return
    yield from check_https_domain(props)
    routed: set[str] = set()
    for route in (props.get("routeConfig") or {}).get("routes") or []:
        match = re.fullmatch(r"\$\{resources\.(\w+)\.props\.functionName\}", str(route.get("functionName")))
        target = match.group(1) if match else None
        path = str(route.get("path", "")).replace("*", "any-id")
        for method in route.get("methods") or ["GET"]:
            expected = function_for(method, path) if path != "/healthz" else target
            if target != expected:
                yield f"s.yaml domain: {method} {route.get('path')} goes to {target}, the gateway sends it to {expected}"
        routed.add(str(target))
    for function in s.HTTP_FUNCTIONS:
        if function not in routed:
            yield f"s.yaml domain: no route reaches {function}"


TLS_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
CERT_VARIABLES = {"certificate": "DEPLOY_TLS_CERT_FILE", "privateKey": "DEPLOY_TLS_KEY_FILE"}


def check_https_domain(props: Mapping[str, Any]) -> Iterator[str]:
    """HTTPS only, with the certificate from the deploying shell and nothing older than TLS 1.2."""
    if props.get("protocol") != "HTTPS":
        yield "s.yaml domain: protocol must be HTTPS (HTTP or HTTP,HTTPS would serve the API in clear text)"
    cert = props.get("certConfig") or {}
    if not cert.get("certName"):
        yield "s.yaml domain: certConfig.certName is not set"
    for field, variable in CERT_VARIABLES.items():
        if cert.get(field) != f"${{env('{variable}')}}":
            yield f"s.yaml domain: certConfig.{field} must be ${{env('{variable}')}} (never a committed file or PEM)"
    tls = props.get("tlsConfig") or {}
    minimum = tls.get("minVersion")
    if minimum not in TLS_VERSIONS or TLS_VERSIONS.index(minimum) < TLS_VERSIONS.index("TLSv1.2"):
        yield "s.yaml domain: tlsConfig.minVersion must be TLSv1.2 or TLSv1.3"
    if not tls.get("maxVersion") or not tls.get("cipherSuites"):
        yield "s.yaml domain: tlsConfig needs maxVersion and cipherSuites (the component requires all three)"
    weak = [c for c in tls.get("cipherSuites") or [] if "RC4" in str(c) or "3DES" in str(c) or "ECDHE" not in str(c)]
    if weak:
        yield f"s.yaml domain: tlsConfig.cipherSuites must be forward-secret, without RC4 or 3DES: {weak}"


def check_scf(document: Mapping[str, Any], jobs: set[str]) -> Iterator[str]:
    instances = document.get("instances") or {}
    if not document.get("app") or not document.get("stage"):
        yield "template.yaml: app and stage are required (every instance of one app shares them)"
    for function in s.FUNCTIONS:
        instance = instances.get(function)
        if not isinstance(instance, dict) or instance.get("component") != "scf" or not instance.get("name"):
            yield f"template.yaml: instance {function} (component scf, with a name) is missing"
            continue
        inputs = instance.get("inputs") or {}
        yield from _scf_inputs(function, inputs, jobs)
        yield from check_environment("scf", function, (inputs.get("environment") or {}).get("variables"))


def _scf_inputs(function: str, inputs: Mapping[str, Any], jobs: set[str]) -> Iterator[str]:
    where = f"template.yaml {function}"
    if inputs.get("handler") != "index.main_handler" or inputs.get("type", "event") != "event":
        yield f"{where}: an event function with handler index.main_handler"
    if inputs.get("runtime") not in SCF_RUNTIMES:
        yield f"{where}: runtime must be one of {', '.join(SCF_RUNTIMES)}"
    if inputs.get("src") != f"build/packages/{function}.zip":
        yield f"{where}: src must be build/packages/{function}.zip (scripts/package)"
    memory, timeout = inputs.get("memorySize"), inputs.get("timeout")
    if not isinstance(memory, int) or not (memory == 64 or (memory % 128 == 0 and 128 <= memory <= 3072)):
        yield f"{where}: memorySize must be 64 or 128..3072 in steps of 128"
    if not isinstance(timeout, int) or not 1 <= timeout <= 900:
        yield f"{where}: timeout must be 1..900 s"
    events = inputs.get("events") or []
    urls = [e["http"].get("parameters") or {} for e in events if isinstance(e, dict) and "http" in e]
    timers = [e["timer"].get("parameters") or {} for e in events if isinstance(e, dict) and "timer" in e]
    if function in s.HTTP_FUNCTIONS and not any(
        u.get("authType") == "NONE" and (u.get("netConfig") or {}).get("enableExtranet") is True for u in urls
    ):
        yield f"{where}: needs a public function URL (events: http, authType NONE, enableExtranet true)"
    if any(isinstance(e, dict) and "apigw" in e for e in events):
        yield f"{where}: no apigw event (API Gateway is retired and may serve plain HTTP); function URLs are HTTPS"
    if function in s.TIMER_FUNCTIONS:
        yield from _timers(where, [t.get("argument") for t in timers], jobs)


def check_names(fc: Mapping[str, Any], scf: Mapping[str, Any], docs: str, root: Path = ROOT) -> Iterator[str]:
    """Code <-> templates <-> docs: every name the code reads is set, or documented as provided by the platform."""
    in_templates = set(s.DEFAULTS) | set(s.LITERALS)
    for table in s.FUNCTION_SETTINGS.values():
        in_templates.update(table)
    for table in s.CLOUD_SETTINGS.values():
        in_templates.update(table)
    read = code_env_names(root)
    for name in sorted(read - in_templates - set(s.PLATFORM_PROVIDED) - set(s.LOCAL_ONLY)):
        yield f"{name} is read by the code but set in neither template nor documented as platform-provided"
    for name in sorted(in_templates - read):
        yield f"{name} is given to functions but no code reads it (scripts/deploy/settings.py is out of date)"
    for name in sorted(
        set(s.PLATFORM_PROVIDED) | set(s.DEPLOY_VARIABLES) | set(s.CLOUD_SETTINGS["scf"]) | set(s.LOCAL_ONLY)
    ):
        if name not in docs:
            yield f"docs/deploy.md does not document {name}"
    for where, value in _strings(fc):
        for name in _FC_ENV.findall(value):
            if ".environmentVariables." not in where and name not in s.DEPLOY_VARIABLES:
                yield f"s.yaml {where}: ${{env('{name}')}} is not a documented DEPLOY_ variable"
    for where, value in _strings(scf):
        for name in _SCF_ENV.findall(value):
            if ".environment.variables." not in where and name not in s.DEPLOY_VARIABLES:
                yield f"template.yaml {where}: ${{env:{name}}} is not a documented DEPLOY_ variable"


def dry_run(root: Path = ROOT) -> list[str]:
    """Every problem found, as one sentence each; empty when both templates are deployable as far as we can tell."""
    problems: list[str] = []
    documents: dict[str, dict[str, Any]] = {}
    for name in ("s.yaml", "template.yaml"):
        try:
            documents[name] = load(root / name)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.append(f"{name} does not parse: {exc}")
    problems.extend(check_handlers(root))
    if len(documents) < 2:
        return problems
    jobs = known_jobs(root)
    docs_path = root / "docs" / "deploy.md"
    docs = docs_path.read_text(encoding="utf-8") if docs_path.is_file() else ""
    problems.extend(check_fc(documents["s.yaml"], jobs))
    problems.extend(check_scf(documents["template.yaml"], jobs))
    problems.extend(check_names(documents["s.yaml"], documents["template.yaml"], docs, root))
    for name, document in documents.items():
        problems.extend(check_no_secret_literals(document, name))
    return problems
