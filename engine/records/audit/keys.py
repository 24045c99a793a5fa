"""The audit signing key (never in the database) and the public keys kept for verification.

The private key is `PLANFLOW_AUDIT_KEY` (64 hex digits, the Ed25519 private key), else the
PEM file `PLANFLOW_AUDIT_KEY_FILE` (default `instance/audit_key`), generated once when
missing. Every public key ever used is kept as `<key id>.pem` in the `keys/` folder of the
audit folder (`PLANFLOW_AUDIT_DIR`, default `instance/audit`), so events signed before a
rotation stay verifiable.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from engine.config import PROJECT_ROOT
from engine.records.audit.offline_verify import key_id_of

log = logging.getLogger(__name__)
KEY_ENV = "PLANFLOW_AUDIT_KEY"
KEY_FILE_ENV = "PLANFLOW_AUDIT_KEY_FILE"
DIR_ENV = "PLANFLOW_AUDIT_DIR"


def audit_dir() -> Path:
    """The folder for checkpoints and public keys: one the database's writers cannot write."""
    return Path(os.environ.get(DIR_ENV) or PROJECT_ROOT / "instance" / "audit")


def key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or PROJECT_ROOT / "instance" / "audit_key")


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key: Ed25519PrivateKey
    public_raw: bytes

    def sign(self, message: bytes) -> str:
        return self.private_key.sign(message).hex()

    @property
    def public_pem(self) -> str:
        return _pem(self.private_key.public_key())


def _pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


_signers: dict[tuple, Signer] = {}


def signer() -> Signer:
    """The current signing key (loaded once per process and source); its public key is kept from first use."""
    environ = os.environ
    source = (environ.get(KEY_ENV), environ.get(KEY_FILE_ENV), environ.get(DIR_ENV))
    found = _signers.get(source)
    if found is None:
        private = _load_private(source[0], str(key_file()))
        raw = _raw(private.public_key())
        found = Signer(key_id_of(raw), private, raw)
        try:
            keep_public_key(found)
        except OSError as exc:
            # Appends must not stop over the audit folder; anchoring retries and reports it.
            log.error("audit public key %s not kept: %s", found.key_id, exc)
        _signers[source] = found
    return found


def _load_private(hex_key: str | None, path: str) -> Ed25519PrivateKey:
    if hex_key:
        try:
            return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(hex_key.strip()))
        except ValueError as exc:
            raise ValueError(f"{KEY_ENV} must be 64 hex digits (an Ed25519 private key)") from exc
    file = Path(path)
    if not file.exists():
        write_new_key(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{file} does not hold an Ed25519 private key")
    return key


def write_new_key(file: Path) -> None:
    """Generate a private key into `file` (mode 0600); a key another process wrote first is kept."""
    file.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    # Written whole under a temporary name, then linked into place: a process starting at the
    # same moment either finds the complete file or creates its own, never a half-written one.
    temporary = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, file)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def keep_public_key(current: Signer | None = None) -> Path:
    """Write the current public key into `keys/` (once), so it outlives a rotation."""
    current = current or signer()
    folder = audit_dir() / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{current.key_id}.pem"
    if not path.exists():
        path.write_text(current.public_pem, encoding="ascii")
    return path


def public_key_pem() -> str:
    """PEM of the current public key."""
    return signer().public_pem


def public_keys() -> dict[str, str]:
    """key id → PEM of every key kept for verification, the current one included."""
    keys = {}
    folder = audit_dir() / "keys"
    if folder.is_dir():
        for path in sorted(folder.glob("*.pem")):
            pem = path.read_text(encoding="ascii")
            public = serialization.load_pem_public_key(pem.encode("ascii"))
            if isinstance(public, Ed25519PublicKey):
                keys[key_id_of(_raw(public))] = pem
    current = signer()
    keys[current.key_id] = current.public_pem
    return keys


class Verifier:
    """Checks signatures against every kept public key, each loaded once."""

    def __init__(self):
        self._keys = {key_id: serialization.load_pem_public_key(pem.encode("ascii"))
                      for key_id, pem in public_keys().items()}

    def valid(self, key_id: str | None, message: bytes, signature: str | None) -> bool:
        key = self._keys.get(key_id)
        if key is None or not signature:
            return False
        try:
            key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def rotate() -> tuple[str, str]:
    """Replace the key file by a new key, keeping the old public key; (old id, new id)."""
    if os.environ.get(KEY_ENV):
        raise ValueError(f"the key comes from {KEY_ENV}: set a new value there (the old public key is kept "
                         "in the keys folder once it has signed a checkpoint)")
    old = signer()
    keep_public_key(old)
    file = key_file()
    retired = file.with_name(f"{file.name}.{old.key_id}.retired")
    file.rename(retired)
    write_new_key(file)
    _signers.clear()
    new = signer()
    keep_public_key(new)
    retired.unlink()
    return old.key_id, new.key_id
