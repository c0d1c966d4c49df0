"""Backups: every dataset the storage port exports, as gzip-compressed JSONL sealed with AES-256-GCM, in an
S3-compatible bucket (Alibaba OSS, Tencent COS), and the restore that verifies a whole run before writing a row.

Layout of one run (`run_id` like `20261130T030000Z-3f9a1c`, its date the run's UTC start):

    PREFIX/YYYY/MM/DD/<run_id>/<dataset>.jsonl.gz.enc    one object per dataset, streamed (multipart when large)
    PREFIX/YYYY/MM/DD/<run_id>/manifest.json.enc         written last: a run without one is incomplete

Every object: `WXPB` + format version (1 byte) + a random 96-bit nonce, then AES-256-GCM ciphertext and its
16-byte tag, the associated data being the header and the object's own key (so no object can stand in for
another). The manifest lists each dataset's key, row count, object size and the SHA-256 of its JSONL plaintext.
"""
