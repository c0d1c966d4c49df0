"""What can go wrong with a backup, each a narrow class the CLI and the job report by name."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore could not be completed."""


class BackupCorrupt(BackupError):
    """An object fails authentication or its manifest's hash or count: wrong key, tampered, swapped or truncated."""


class BackupNotFound(BackupError):
    """No such run, or an object its manifest lists is missing."""


class ObjectStoreError(BackupError):
    """The object storage refused or failed a request (its cause kept, never credentials)."""
