"""AES-256-GCM over a stream of bytes: one random 96-bit nonce per object, the object's key as associated data.

The output is exactly what a one-shot AES-GCM `encrypt(nonce, plaintext, aad)` gives (ciphertext then tag) behind
a 17-byte header, so any AES-GCM tool can open a backup by hand; streaming only keeps memory flat. Decryption
releases plaintext before the tag at the end is checked: callers must treat it as unverified until the iterator
has finished without raising (restore spools it, and acts only after the whole run verified).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import AEADDecryptionContext, Cipher, algorithms, modes

from shared.backup.errors import BackupCorrupt

MAGIC = b"WXPB"
FORMAT_VERSION = 1
HEADER = MAGIC + bytes([FORMAT_VERSION])
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = len(HEADER) + NONCE_SIZE + TAG_SIZE


def associated_data(object_key: str) -> bytes:
    return HEADER + object_key.encode("utf-8")


def encrypt(key: bytes, object_key: str, chunks: Iterable[bytes], *, nonce: bytes | None = None) -> Iterator[bytes]:
    """Header + nonce, the ciphertext chunk by chunk, then the tag. `nonce` is for known-answer tests only."""
    _check_key(key)
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(associated_data(object_key))
    yield HEADER + nonce
    for chunk in chunks:
        if chunk:
            yield encryptor.update(chunk)
    yield encryptor.finalize() + encryptor.tag


def decrypt(key: bytes, object_key: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Plaintext as it is decrypted; raises BackupCorrupt (at the end, at the latest) unless the object is whole,
    was sealed under `key` and for `object_key`."""
    _check_key(key)
    decryptor = None
    held = b""  # bytes not yet decrypted: the header at first, then always the last TAG_SIZE (the tag, at the end)
    for chunk in chunks:
        held += chunk
        if decryptor is None:
            if len(held) < len(HEADER) + NONCE_SIZE:
                continue
            decryptor = _decryptor(key, object_key, held[: len(HEADER) + NONCE_SIZE])
            held = held[len(HEADER) + NONCE_SIZE :]
        if len(held) > TAG_SIZE:
            yield decryptor.update(held[:-TAG_SIZE])
            held = held[-TAG_SIZE:]
    if decryptor is None or len(held) < TAG_SIZE:
        raise BackupCorrupt(f"{object_key}: truncated")
    try:
        yield decryptor.finalize_with_tag(held)
    except InvalidTag:
        raise BackupCorrupt(f"{object_key}: authentication failed (wrong key, or altered, swapped or cut)") from None


def _decryptor(key: bytes, object_key: str, head: bytes) -> AEADDecryptionContext:
    if head[: len(MAGIC)] != MAGIC:
        raise BackupCorrupt(f"{object_key}: not a backup object")
    if head[len(MAGIC)] != FORMAT_VERSION:
        raise BackupCorrupt(f"{object_key}: unsupported format version {head[len(MAGIC)]}")
    decryptor = Cipher(algorithms.AES(key), modes.GCM(head[len(HEADER) :])).decryptor()
    decryptor.authenticate_additional_data(associated_data(object_key))
    return decryptor


def seal(key: bytes, object_key: str, data: bytes) -> bytes:
    return b"".join(encrypt(key, object_key, [data]))


def unseal(key: bytes, object_key: str, blob: bytes) -> bytes:
    return b"".join(decrypt(key, object_key, [blob]))


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError("a backup key is 32 bytes (AES-256)")
