#!/usr/bin/env python3
"""Check a PlanFlow evidence pack offline: event hashes, chain links, signatures and checkpoints.

Standard library only, so an auditor can run it anywhere with Python 3.8+:

    python3 verify.py evidence.json --key planflow-audit.pem

Without `--key` the public keys written in the pack are used; an auditor should pass the
key they received from the organisation separately, since a forger could also write a pack.
Exit status 0 when everything holds, 1 naming the first event or checkpoint that does not.

The rules (the PlanFlow server uses these same functions):
- canonical JSON: keys sorted, separators "," and ":", UTF-8, non-ASCII kept as is;
- an event's payload hash is SHA-256 (hex) of the canonical JSON array [salt, payload], the
  salt being random per event, so a pack may leave a payload out (masked identity) and still
  prove the chain: such an event carries "payload_redacted": true and its "payload_hash";
- an event's hash is SHA-256 (hex) of the canonical JSON array
  [chain_seq, occurred_at, actor, kind, case_id, case_number, element_id, payload hash, prev_hash];
- every case has its own chain (events without a case form the global chain): chain_seq
  counts 1, 2, 3, … and each prev_hash is the hash of the chain's previous event
  (64 zeros for the first);
- each event's signature is Ed25519 over the ASCII bytes of its hash, by the key named in
  key_id (the first 16 hex digits of SHA-256 over the raw 32-byte public key);
- a checkpoint is signed over the canonical JSON of itself without its "signature" field;
  its "cases" map a case id to [chain_seq, hash, event id] of that case's chain head at the
  checkpoint's time, "global" is the same for the global chain.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys

GENESIS_HASH = "0" * 64
EVENT_FIELDS = ("chain_seq", "occurred_at", "actor", "kind", "case_id", "case_number", "element_id")


def canonical(value) -> bytes:
    """The canonical JSON bytes every hash and signature is taken over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def payload_hash(salt: str, payload) -> str:
    """SHA-256 hex of an event's salt and payload."""
    return hashlib.sha256(canonical([salt, payload])).hexdigest()


def event_hash(chain_seq, occurred_at, actor, kind, case_id, case_number, element_id, payload_digest,
               prev_hash) -> str:
    """SHA-256 hex of one event's content (its payload by hash) and the hash of the event before it in its chain."""
    return hashlib.sha256(canonical([chain_seq, occurred_at, actor, kind, case_id, case_number, element_id,
                                     payload_digest, prev_hash])).hexdigest()


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def checkpoint_body(checkpoint: dict) -> bytes:
    """What a checkpoint's signature covers: everything but the signature."""
    return canonical({k: v for k, v in checkpoint.items() if k != "signature"})


# --- Ed25519 verification (RFC 8032, section 5.1.7), in pure Python -------------------------

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    """Point addition in extended coordinates (X, Y, Z, T)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(scalar: int, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same_point(a, b) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _recover_x(y: int, sign: int):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _decompress(data: bytes):
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_BASE = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if `signature` is a valid Ed25519 signature of `message` by `public_key`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _L
    return _same_point(_multiply(s, _BASE), _add(r, _multiply(h, a)))


def public_key_bytes(text: str) -> bytes:
    """A raw 32-byte Ed25519 public key from PEM (SubjectPublicKeyInfo) or 64 hex digits."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
        der = base64.b64decode(body)
        if len(der) != 44 or not der.startswith(bytes.fromhex("302a300506032b6570032100")):
            raise ValueError("not an Ed25519 public key in PEM form")
        return der[12:]
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return raw


def signature_ok(keys: dict, key_id, message: bytes, signature) -> bool:
    key = keys.get(key_id)
    if key is None or not isinstance(signature, str):
        return False
    try:
        return ed25519_verify(key, message, bytes.fromhex(signature))
    except ValueError:
        return False


# --- checking a pack ------------------------------------------------------------------------

def _name(event: dict) -> str:
    return f"event {event.get('seq')} ({event.get('kind')}, position {event.get('chain_seq')} of its chain)"


def _payload_hash_of(event: dict) -> str | None:
    if event.get("payload_redacted"):
        return event.get("payload_hash")
    return payload_hash(event.get("salt"), event.get("payload"))


def check_events(events: list, keys: dict) -> tuple[list, dict]:
    """Problems found in the events, and each chain's hashes by position ({case_id: [hash, …]})."""
    problems, chains = [], {}
    for event in sorted(events, key=lambda e: (str(e.get("case_id")), e.get("chain_seq") or 0)):
        hashes = chains.setdefault(event.get("case_id"), [])
        expected_prev = hashes[-1] if hashes else GENESIS_HASH
        if event.get("chain_seq") != len(hashes) + 1:
            problems.append((event, f"{_name(event)}: position {len(hashes) + 1} of its chain is missing"))
        elif event.get("prev_hash") != expected_prev:
            problems.append((event, f"{_name(event)}: its previous-hash does not match the event before it"))
        elif event_hash(*(event.get(f) for f in EVENT_FIELDS), _payload_hash_of(event),
                        event.get("prev_hash")) != event.get("hash"):
            problems.append((event, f"{_name(event)}: its content does not match its hash (edited)"))
        elif not signature_ok(keys, event.get("key_id"), str(event.get("hash")).encode("ascii"),
                              event.get("signature")):
            problems.append((event, f"{_name(event)}: its signature is missing or not valid for key "
                                    f"{event.get('key_id')} (forged or rewritten)"))
        hashes.append(event.get("hash"))
    return problems, chains


def check_checkpoints(checkpoints: list, chains: dict, keys: dict) -> list[str]:
    """Problems between the signed checkpoints and the chains in the pack."""
    problems = []
    for checkpoint in checkpoints:
        label = f"checkpoint of {checkpoint.get('at')}"
        if not signature_ok(keys, checkpoint.get("key_id"), checkpoint_body(checkpoint), checkpoint.get("signature")):
            problems.append(f"{label}: its signature is missing or not valid")
            continue
        for case_id, head in (checkpoint.get("cases") or {}).items():
            hashes = chains.get(int(case_id))
            if hashes is None:
                continue
            position, head_hash, event_id = head[0], head[1], head[2] if len(head) > 2 else None
            if position > len(hashes):
                problems.append(f"{label}: case {case_id} had {position} event(s) but the pack holds {len(hashes)}; "
                                f"event {event_id} and any before it down to position {len(hashes) + 1} are missing")
            elif hashes[position - 1] != head_hash:
                problems.append(f"{label}: event {event_id} (position {position} of case {case_id}) differs "
                                "from what the checkpoint signed")
    return problems


def verify_document(doc: dict, keys: dict | None = None) -> tuple[bool, list[str], str]:
    """(ok, problems, summary) for an evidence document or its "audit" section."""
    section = doc.get("audit", doc)
    if keys is None:
        keys = {}
        for text in (section.get("public_keys") or {}).values():
            raw = public_key_bytes(text)
            keys[key_id_of(raw)] = raw
    events = section.get("events") or []
    checkpoints = section.get("checkpoints") or []
    event_problems, chains = check_events(events, keys)
    problems = [text for _, text in sorted(event_problems, key=lambda p: p[0].get("seq") or 0)]
    problems += check_checkpoints(checkpoints, chains, keys)
    redacted = sum(1 for e in events if e.get("payload_redacted"))
    summary = (f"{len(events)} event(s) in {len(chains)} chain(s) ({redacted} with a masked payload, checked by "
               f"its hash only), {len(checkpoints)} checkpoint(s), "
               f"keys {', '.join(sorted(keys)) or 'none'}")
    return not problems, problems, summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check a PlanFlow evidence pack offline.")
    parser.add_argument("evidence", help="evidence.json")
    parser.add_argument("--key", action="append", default=[],
                        help="public key file (PEM or 64 hex digits); repeat for rotated keys")
    args = parser.parse_args(argv)
    with open(args.evidence, encoding="utf-8") as handle:
        doc = json.load(handle)
    keys = None
    if args.key:
        keys = {}
        for path in args.key:
            with open(path, encoding="utf-8") as handle:
                raw = public_key_bytes(handle.read())
            keys[key_id_of(raw)] = raw
    ok, problems, summary = verify_document(doc, keys)
    if ok:
        print(f"evidence verified: {summary}")
        return 0
    print(f"evidence NOT verified: {problems[0]}")
    for problem in problems[1:]:
        print(f"  also: {problem}")
    print(f"({summary})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
