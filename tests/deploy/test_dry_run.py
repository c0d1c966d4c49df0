"""The dry run (python -m scripts.deploy --dry-run): the repository's templates pass it, and each rule catches the
mistake it exists for, shown on a copy of the repository's files with one thing changed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from scripts.deploy import __main__ as deploy_cli
from scripts.deploy.checks import code_env_names, dry_run
from scripts.deploy.settings import FUNCTION_SETTINGS, FUNCTIONS, PLATFORM_PROVIDED

ROOT = Path(__file__).resolve().parents[2]
JOBS_PRESENT = (ROOT / "functions" / "jobs" / "index.py").is_file()
JOBS_STUB = """
JOBS = {"close_expired": None, "reconcile_pending": None, "reconcile_refunds": None, "reconcile_bill": None,
        "retention": None}
def handler(event, context):
    return {}
main_handler = handler
"""


def test_the_repository_passes_the_dry_run() -> None:
    """Strict: functions/jobs is deployed by both templates, so until it is in the checkout that is the one problem."""
    problems = dry_run()
    if JOBS_PRESENT:
        assert problems == []
    else:
        assert problems == ["functions/jobs/index.py does not exist (both templates deploy it)"]


def test_the_command_line_reports_and_sets_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    status = deploy_cli.main(["--dry-run"])
    out = capsys.readouterr().out
    assert status == (0 if JOBS_PRESENT else 1)
    assert out.strip().endswith(
        "s.yaml and template.yaml OK" if JOBS_PRESENT else "1 problem(s) in s.yaml and template.yaml"
    )


def test_every_name_the_code_reads_is_known() -> None:
    read = code_env_names()
    given = {name for names in FUNCTION_SETTINGS.values() for name in names}
    assert {"SERVER_SECRET", "WECHATPAY_MERCHANT_PRIVATE_KEY", "SECRETS_KMS_ENDPOINT", "SECRETS_SSM_REGION"} <= read
    assert set(PLATFORM_PROVIDED) <= read and given <= read


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The files the dry run reads, copied; functions/jobs is a stub when the checkout has none."""
    for name in ("s.yaml", "template.yaml", "docs/deploy.md", "shared/config.py", "shared/log.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "shared" / "secrets", tmp_path / "shared" / "secrets")
    for function in FUNCTIONS:
        target = tmp_path / "functions" / function / "index.py"
        target.parent.mkdir(parents=True)
        source = ROOT / "functions" / function / "index.py"
        target.write_text(source.read_text() if source.is_file() else JOBS_STUB)
    return tmp_path


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def fc_env(document: dict, function: str) -> dict:  # type: ignore[type-arg]
    return document["resources"][function]["props"]["environmentVariables"]  # type: ignore[no-any-return]


def scf_env(document: dict, function: str) -> dict:  # type: ignore[type-arg]
    return document["instances"][function]["inputs"]["environment"]["variables"]  # type: ignore[no-any-return]


CASES: list[tuple[str, str, Callable[[dict], None], str]] = [  # type: ignore[type-arg]
    (
        "a secret written into s.yaml",
        "s.yaml",
        lambda d: fc_env(d, "license").update(SERVER_SECRET="x" * 48),
        "s.yaml license: SERVER_SECRET must come from the deploying shell's SERVER_SECRET",
    ),
    (
        "a secret with a default",
        "s.yaml",
        lambda d: fc_env(d, "license").update(SERVER_SECRET="${env('SERVER_SECRET', 'changeme')}"),
        "s.yaml license: SERVER_SECRET is a secret",
    ),
    (
        "a setting wired to another shell variable",
        "template.yaml",
        lambda d: scf_env(d, "payment_notify").update(STORAGE_URL="${env:SERVER_SECRET}"),
        "template.yaml payment_notify: STORAGE_URL must come from the deploying shell's STORAGE_URL",
    ),
    (
        "a setting missing on one cloud",
        "template.yaml",
        lambda d: scf_env(d, "create_order").pop("WECHATPAY_NOTIFY_URL"),
        "template.yaml create_order: WECHATPAY_NOTIFY_URL is not set",
    ),
    (
        "a misspelt setting",
        "s.yaml",
        lambda d: fc_env(d, "jobs").update(WECHATPAY_APIV3KEY="${env('WECHATPAY_APIV3KEY')}"),
        "s.yaml jobs: WECHATPAY_APIV3KEY is set but jobs does not read it",
    ),
    (
        "the merchant key given to the licence function",
        "s.yaml",
        lambda d: fc_env(d, "license").update(
            WECHATPAY_MERCHANT_PRIVATE_KEY="${env('WECHATPAY_MERCHANT_PRIVATE_KEY')}"
        ),
        "s.yaml license: WECHATPAY_MERCHANT_PRIVATE_KEY is set but license does not read it",
    ),
    (
        "a PEM pasted into a template",
        "template.yaml",
        lambda d: d["instances"]["jobs"]["inputs"].update(description="-----BEGIN PRIVATE KEY-----"),
        "template.yaml instances.jobs.inputs.description: looks like a key",
    ),
    (
        "an authenticated notify trigger",
        "s.yaml",
        lambda d: d["resources"]["payment_notify"]["props"]["triggers"][0]["triggerConfig"].update(authType="function"),
        "s.yaml payment_notify: needs an anonymous HTTP trigger",
    ),
    (
        "a private function URL",
        "template.yaml",
        lambda d: d["instances"]["license"]["inputs"]["events"][0]["http"]["parameters"]["netConfig"].update(
            enableExtranet=False
        ),
        "template.yaml license: needs a public function URL",
    ),
    (
        "memory FC cannot give",
        "s.yaml",
        lambda d: d["resources"]["license"]["props"].update(memorySize=100),
        "s.yaml license: memorySize must be a multiple of 64 MB",
    ),
    (
        "too little memory for the vCPU",
        "s.yaml",
        lambda d: d["resources"]["license"]["props"].update(cpu=0.5),
        "s.yaml license: cpu must keep vCPU:GiB between 1:1 and 1:4",
    ),
    (
        "a timeout beyond SCF's",
        "template.yaml",
        lambda d: d["instances"]["jobs"]["inputs"].update(timeout=1200),
        "template.yaml jobs: timeout must be 1..900 s",
    ),
    (
        "a timer naming an unknown job",
        "template.yaml",
        lambda d: d["instances"]["jobs"]["inputs"]["events"][0]["timer"]["parameters"].update(argument="backup_all"),
        "template.yaml jobs: timer payload 'backup_all' names jobs functions/jobs does not know",
    ),
    (
        "a route to the wrong function",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"]["routeConfig"]["routes"][4].update(
            functionName="${resources.license.props.functionName}"
        ),
        "s.yaml domain: POST /v1/notify/wechatpay goes to license, the gateway sends it to payment_notify",
    ),
    (
        "a domain that also serves plain HTTP",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"].update(protocol="HTTP,HTTPS"),
        "s.yaml domain: protocol must be HTTPS",
    ),
    (
        "a certificate committed into s.yaml",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"]["certConfig"].update(certificate="./certs/pay.pem"),
        "s.yaml domain: certConfig.certificate must be ${env('DEPLOY_TLS_CERT_FILE')}",
    ),
    (
        "a domain without its key",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"]["certConfig"].pop("privateKey"),
        "s.yaml domain: certConfig.privateKey must be ${env('DEPLOY_TLS_KEY_FILE')}",
    ),
    (
        "TLS 1.0 allowed",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"]["tlsConfig"].update(minVersion="TLSv1.0"),
        "s.yaml domain: tlsConfig.minVersion must be TLSv1.2 or TLSv1.3",
    ),
    (
        "a weak cipher suite",
        "s.yaml",
        lambda d: d["resources"]["domain"]["props"]["tlsConfig"]["cipherSuites"].append("TLS_RSA_WITH_RC4_128_SHA"),
        "s.yaml domain: tlsConfig.cipherSuites must be forward-secret",
    ),
    (
        "a trigger's plain-HTTP default URL left public",
        "s.yaml",
        lambda d: d["resources"]["license"]["props"]["triggers"][0]["triggerConfig"].update(disableURLInternet=False),
        "s.yaml license: HTTP trigger http: disableURLInternet must be true",
    ),
    (
        "an API Gateway trigger on SCF",
        "template.yaml",
        lambda d: d["instances"]["license"]["inputs"]["events"].append({"apigw": {"parameters": {}}}),
        "template.yaml license: no apigw event",
    ),
    (
        "the local stack's flag deployed",
        "template.yaml",
        lambda d: scf_env(d, "create_order").update(LOCAL_STACK="${env:LOCAL_STACK}"),
        "template.yaml create_order: LOCAL_STACK is for the local stack only",
    ),
    (
        "the wrong handler",
        "template.yaml",
        lambda d: d["instances"]["order_status"]["inputs"].update(handler="index.handler"),
        "template.yaml order_status: an event function with handler index.main_handler",
    ),
]


@pytest.mark.parametrize(("why", "file", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_dry_run_catches(copy: Path, why: str, file: str, change: Callable[[dict], None], expected: str) -> None:  # type: ignore[type-arg]
    edit_yaml(copy / file, change)
    problems = dry_run(copy)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_setting_new_in_the_code_must_reach_both_templates(copy: Path) -> None:
    config = copy / "shared" / "config.py"
    config.write_text(
        config.read_text() + '\n\nNEW = {"x": _required({}, "WECHATPAY_NEW_SETTING")} if False else None\n'
    )
    assert "WECHATPAY_NEW_SETTING is read by the code but set in neither template" in " ".join(dry_run(copy))


def test_a_handler_module_without_the_scf_entry_point_is_refused(copy: Path) -> None:
    index = copy / "functions" / "license" / "index.py"
    index.write_text(index.read_text().replace("main_handler = handler", ""))
    assert "functions/license/index.py does not define main_handler" in dry_run(copy)


def test_an_undocumented_platform_name_is_refused(copy: Path) -> None:
    docs = copy / "docs" / "deploy.md"
    docs.write_text(docs.read_text().replace("TENCENTCLOUD_SESSIONTOKEN", "the session token"))
    assert "docs/deploy.md does not document TENCENTCLOUD_SESSIONTOKEN" in dry_run(copy)


def test_a_template_that_does_not_parse_is_named(copy: Path) -> None:
    (copy / "template.yaml").write_text("instances: [unclosed\n")
    assert any(p.startswith("template.yaml does not parse") for p in dry_run(copy))


def test_both_templates_are_https_only() -> None:
    """What the rules above guard, read straight from the repository's files."""
    fc = yaml.safe_load((ROOT / "s.yaml").read_text())
    domain = fc["resources"]["domain"]["props"]
    assert domain["protocol"] == "HTTPS"
    assert domain["certConfig"]["certificate"] == "${env('DEPLOY_TLS_CERT_FILE')}"
    assert domain["certConfig"]["privateKey"] == "${env('DEPLOY_TLS_KEY_FILE')}"
    assert domain["tlsConfig"]["minVersion"] == "TLSv1.2"
    for function in FUNCTIONS:
        props = fc["resources"][function]["props"]
        for trigger in props["triggers"]:
            if trigger["triggerType"] == "http":
                assert trigger["triggerConfig"]["disableURLInternet"] is True
        env = props["environmentVariables"]
        assert "LOCAL_STACK" not in env
        if "WECHATPAY_NOTIFY_URL" in env:
            assert env["WECHATPAY_NOTIFY_URL"] == "${env('WECHATPAY_NOTIFY_URL')}"  # no http:// default
            assert env["WECHATPAY_BASE_URL"].endswith("'https://api.mch.weixin.qq.com')}")
    scf = yaml.safe_load((ROOT / "template.yaml").read_text())
    for function in FUNCTIONS:
        inputs = scf["instances"][function]["inputs"]
        assert not any("apigw" in event for event in inputs.get("events") or [])
        assert "LOCAL_STACK" not in inputs["environment"]["variables"]
