"""The backup file: a plaintext header, then AES-256-GCM chunks under BACKUP_KEY.

    magic ‖ u32 header length ‖ header JSON ‖ (u32 chunk length ‖ chunk)…

The header names the cipher, the chunk size, a random nonce prefix and the fingerprint of the
key (so "another key" is told apart from "altered"). Every chunk is sealed with the nonce
`prefix ‖ u32 index ‖ final flag` and the header's digest as associated data (the STREAM
construction): reordering, dropping, appending or truncating chunks, or editing the header,
all fail authentication. Chunk 0 is the manifest; the payload follows; the last chunk is
flagged final, so a file cut at a chunk boundary is still detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from security.key_ages import fingerprint

MAGIC = b"STRATOGRAPH-BACKUP\x00"
CONTAINER_VERSION = 1
CHUNK_BYTES = 1 << 20
NONCE_PREFIX_BYTES = 7
MAX_HEADER_BYTES = 4096
# A header is read before anything is authenticated: bound what it may make us allocate.
MAX_CHUNK_BYTES = 64 << 20
TAG_BYTES = 16
_U32 = struct.Struct(">I")


class BackupFileError(Exception):
    """The file cannot be used; the message says why (and never holds key material)."""


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + _U32.pack(index) + (b"\x01" if final else b"\x00")


def key_fingerprint(key: bytes) -> str:
    return fingerprint(b"backup|" + key)


class Writer:
    """Seals a stream of bytes into the container; call `close()` to write the final chunk."""

    def __init__(self, out: BinaryIO, key: bytes, manifest: bytes) -> None:
        self._out = out
        self._aead = AESGCM(key)
        self._prefix = os.urandom(NONCE_PREFIX_BYTES)
        header = json.dumps(
            {
                "container": CONTAINER_VERSION,
                "cipher": "AES-256-GCM",
                "chunkBytes": CHUNK_BYTES,
                "noncePrefix": self._prefix.hex(),
                "keyFingerprint": key_fingerprint(key),
            },
            sort_keys=True,
        ).encode()
        out.write(MAGIC + _U32.pack(len(header)) + header)
        self._aad = hashlib.sha256(MAGIC + header).digest()
        self._index = 0
        self._buffer = bytearray()
        self._seal(manifest, final=False)

    def _seal(self, plaintext: bytes | bytearray, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, final), plaintext, self._aad)
        self._out.write(_U32.pack(len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) <= CHUNK_BYTES:
            return
        full = len(self._buffer) // CHUNK_BYTES * CHUNK_BYTES
        if full == len(self._buffer):  # keep one chunk back: the last one is sealed as final
            full -= CHUNK_BYTES
        view = memoryview(self._buffer)
        for start in range(0, full, CHUNK_BYTES):
            self._seal(bytes(view[start : start + CHUNK_BYTES]), final=False)
        view.release()
        del self._buffer[:full]

    def close(self) -> None:
        self._seal(self._buffer, final=True)
        self._buffer = bytearray()


def _read_exact(source: BinaryIO, size: int, what: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupFileError(f"the backup file is truncated (it ends inside the {what})")
    return data


class Reader:
    """Opens a container: the manifest first, then the payload chunk by chunk."""

    def __init__(self, source: BinaryIO, key: bytes) -> None:
        self._source = source
        if source.read(len(MAGIC)) != MAGIC:
            raise BackupFileError("this is not a stratograph backup file")
        (length,) = _U32.unpack(_read_exact(source, 4, "header"))
        if length > MAX_HEADER_BYTES:
            raise BackupFileError("the backup file's header is malformed")
        raw = _read_exact(source, length, "header")
        try:
            header = json.loads(raw)
            prefix = bytes.fromhex(header["noncePrefix"])
            version = int(header["container"])
            self._chunk_limit = int(header["chunkBytes"]) + TAG_BYTES
            stored_key = str(header["keyFingerprint"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupFileError("the backup file's header is malformed") from exc
        if not 0 < self._chunk_limit - TAG_BYTES <= MAX_CHUNK_BYTES:
            raise BackupFileError("the backup file's header is malformed")
        if version > CONTAINER_VERSION or len(prefix) != NONCE_PREFIX_BYTES:
            raise BackupFileError(
                f"the backup file uses container version {version}; this stratograph reads "
                f"up to {CONTAINER_VERSION} (upgrade stratograph to restore it)"
            )
        if stored_key != key_fingerprint(key):
            raise BackupFileError(
                f"the backup was encrypted under another BACKUP_KEY (fingerprint {stored_key}; "
                f"the configured key's is {key_fingerprint(key)}): set the BACKUP_KEY it was "
                "made with"
            )
        self._aead = AESGCM(key)
        self._prefix = prefix
        self._aad = hashlib.sha256(MAGIC + raw).digest()
        self._index = 0
        self._done = False
        manifest, final = self._next()
        if final:
            raise BackupFileError("the backup file is truncated (no payload after the manifest)")
        self.manifest = manifest

    def _next(self) -> tuple[bytes, bool]:
        head = self._source.read(4)
        if len(head) != 4:
            raise BackupFileError("the backup file is truncated (its final chunk is missing)")
        (length,) = _U32.unpack(head)
        if length < TAG_BYTES or length > self._chunk_limit:
            raise BackupFileError("the backup file was altered (a chunk has an impossible size)")
        sealed = _read_exact(self._source, length, "data")
        for final in (False, True):
            try:
                plain = self._aead.decrypt(
                    _nonce(self._prefix, self._index, final), sealed, self._aad
                )
            except InvalidTag:
                continue
            self._index += 1
            return plain, final
        raise BackupFileError(
            f"the backup file was altered or damaged (chunk {self._index} fails authentication)"
        )

    def chunks(self) -> Iterator[bytes]:
        """The payload, authenticated chunk by chunk; raises on truncation or trailing data."""
        while not self._done:
            plain, final = self._next()
            if final:
                self._done = True
                if self._source.read(1):
                    raise BackupFileError("the backup file has data after its final chunk")
            yield plain
