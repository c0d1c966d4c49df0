"""ObjectStore on the S3 API with boto3: Alibaba OSS and Tencent COS both speak it (design §9).

boto3 is imported here only, when a backup or restore runs: no request-serving function pays for it.
OSS requires virtual-hosted addressing (bucket.endpoint) and its S3 endpoint (`https://s3.oss-<region>.aliyuncs.com`,
`-internal` from the same region); COS accepts both styles; path style is for local servers (moto).
Since botocore 1.36 requests carry CRC checksums by default, which S3-compatible services may reject: ours are
sent only where the API requires them (every object is authenticated by AES-GCM anyway).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from shared.backup.errors import BackupNotFound, ObjectStoreError
from shared.config import BackupSettings

PART_SIZE = 8 * 1024 * 1024  # multipart above this; S3 wants parts of at least 5 MiB but the last
READ_CHUNK = 1024 * 1024
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60
MAX_ATTEMPTS = 5  # botocore's "standard" mode: exponential backoff with jitter on throttling and 5xx


def client_for(settings: BackupSettings) -> Any:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        aws_session_token=settings.session_token,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": settings.addressing_style},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str, *, part_size: int = PART_SIZE):
        self._s3, self._bucket, self._part_size = client, bucket, part_size

    @classmethod
    def from_settings(cls, settings: BackupSettings) -> S3ObjectStore:
        return cls(client_for(settings), settings.bucket)

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        parts = _pieces(chunks, self._part_size)
        first, second = next(parts, b""), next(parts, None)
        if second is None:
            with _translated("PutObject"):
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=first)
            return len(first)
        with _translated("CreateMultipartUpload"):
            started = self._s3.create_multipart_upload(Bucket=self._bucket, Key=key)
        where = {"Bucket": self._bucket, "Key": key, "UploadId": started["UploadId"]}
        try:
            done, size = [], 0
            for number, data in enumerate(itertools.chain([first, second], parts), start=1):
                with _translated("UploadPart"):
                    answer = self._s3.upload_part(**where, PartNumber=number, Body=data)
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
                size += len(data)
            with _translated("CompleteMultipartUpload"):
                self._s3.complete_multipart_upload(**where, MultipartUpload={"Parts": done})
            return size
        except BaseException:
            # Best effort: the bucket's lifecycle rule removes incomplete uploads if this fails too (README).
            with contextlib.suppress(ObjectStoreError), _translated("AbortMultipartUpload"):
                self._s3.abort_multipart_upload(**where)
            raise

    def get_stream(self, key: str) -> Iterator[bytes]:
        with _translated("GetObject", key):
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(READ_CHUNK)
            finally:
                body.close()

    def list_keys(self, prefix: str) -> Iterator[str]:
        with _translated("ListObjectsV2"):
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield item["Key"]


@contextlib.contextmanager
def _translated(operation: str, key: str | None = None) -> Iterator[None]:
    """botocore's errors as ours, the cause kept (its messages name the operation, never the credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if key is not None and code in ("NoSuchKey", "404"):
            raise BackupNotFound(f"no object {key}") from exc
        raise ObjectStoreError(f"{operation} failed: {code or exc}") from exc
    except BotoCoreError as exc:
        raise ObjectStoreError(f"{operation} failed: {exc}") from exc


def _pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The stream cut into pieces of exactly `size` bytes, then what is left (if anything)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
