"""Parse `kms://` and `ssm://` setting values into references; pick a JSON field out of a fetched secret."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

from shared.errors import ConfigError

PROVIDERS = ("kms", "ssm")
KMS_DEFAULT_STAGE = "ACSCurrent"


class Reference:
    """Which secret a setting names: provider, secret name, version (or KMS stage), optional JSON field."""

    __slots__ = ("field", "name", "provider", "stage", "version")

    def __init__(self, provider: str, name: str, version: str | None, stage: str | None, field: str | None) -> None:
        self.provider, self.name, self.version, self.stage, self.field = provider, name, version, stage, field

    @property
    def cache_key(self) -> tuple[str, str, str]:
        return (self.provider, self.name, self.version or f"stage:{self.stage}")

    def select(self, secret: str, setting: str) -> str:
        """The setting's value: the whole secret, or its `#field` when the secret is a JSON object."""
        if self.field is None:
            return secret
        try:
            document = json.loads(secret)
        except ValueError:
            raise ConfigError(f"setting {setting}: the secret is not a JSON object, so it has no #field") from None
        value = document.get(self.field) if isinstance(document, dict) else None
        if not isinstance(value, str):
            raise ConfigError(f"setting {setting}: the secret has no string field of the name its reference gives")
        return value

    def __repr__(self) -> str:  # names only: a reference holds no secret, but keep logs boring
        return f"Reference({self.provider}://{self.name})"


def is_reference(value: str) -> bool:
    return value.strip().lower().startswith(tuple(f"{p}://" for p in PROVIDERS))


def parse(value: str, setting: str) -> Reference | None:
    """None for a plain value; a Reference for `kms://` / `ssm://`; ConfigError naming the setting when malformed."""
    if not is_reference(value):
        return None
    parts = urlsplit(value.strip())
    provider = parts.scheme.lower()
    name = unquote(parts.netloc + parts.path)
    options = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    known = {"kms": {"version", "stage"}, "ssm": {"version"}}[provider]
    if not name or set(options) - known:
        raise ConfigError(
            f"setting {setting}: a {provider}:// reference is {provider}://<secret-name>"
            f"?{'|'.join(sorted(known))}=...#<json-key> (see docs/deploy.md)"
        )
    version = options.get("version") or None
    stage = options.get("stage") or None
    if provider == "kms":
        if version and stage:
            raise ConfigError(f"setting {setting}: a kms:// reference takes a version or a stage, not both")
        stage = None if version else stage or KMS_DEFAULT_STAGE
    elif not version:
        # SSM's GetSecretValue needs a VersionId (SSM_Current only exists for cloud-product secrets).
        raise ConfigError(f"setting {setting}: an ssm:// reference needs ?version=<VersionId>")
    return Reference(provider, name, version, stage, unquote(parts.fragment) or None)
