"""Settings that name a secret instead of holding it (design §2: `secrets/`).

A setting's value is one of:

    anything else                                      the `env` provider: the value itself
    kms://<name>[?version=<VersionId>|?stage=<stage>][#<json-key>]   Alibaba Cloud KMS secret (GetSecretValue)
    ssm://<name>?version=<VersionId>[#<json-key>]      Tencent Cloud SSM secret (GetSecretValue)

`#<json-key>` picks one string field of a secret stored as a JSON object, so one secret can hold a merchant's
whole set of keys. A URL-like form, not `kms:<name>`: LICENSE_SIGNING_KEYS is `kid:seed`, and a key id `kms`
would otherwise read as a reference.

`shared.config` wraps the environment in `resolved_env`, so a reference is fetched on first use, with the function's
role credentials, once per instance (module cache), and never logged: errors name the setting, never its value.
"""

from __future__ import annotations

from shared.secrets.reference import Reference, is_reference, parse
from shared.secrets.resolve import SecretEnv, clear_cache, remember_context, resolved_env

__all__ = ["Reference", "SecretEnv", "clear_cache", "is_reference", "parse", "remember_context", "resolved_env"]
