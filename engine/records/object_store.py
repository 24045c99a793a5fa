"""An S3-compatible store for attachments (AWS S3, MinIO, Ceph…), standard library only.

It has the folder store's interface (put, exists, open, read), keeps objects under
`<bucket URL>/<first two hex digits>/<sha256>`, and never overwrites one: a PUT carries
`If-None-Match: *`, and the store itself checks the body against `x-amz-content-sha256`.
Requests are signed with AWS Signature Version 4.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import BinaryIO
from urllib.parse import quote, urlsplit

from engine.records.file_store import StoredFileProblem, checked_content, object_name

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign_v4(method: str, url: str, headers: dict[str, str], payload_sha256: str, access_key: str, secret_key: str,
            region: str, now: datetime, service: str = "s3") -> dict[str, str]:
    """The request's headers plus x-amz-date, x-amz-content-sha256 and Authorization (AWS Signature Version 4)."""
    parts = urlsplit(url)
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signed = {**{k.lower(): " ".join(str(v).split()) for k, v in headers.items()},
              "host": parts.netloc, "x-amz-date": stamp, "x-amz-content-sha256": payload_sha256}
    names = sorted(signed)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(
        (pair.split("=", 1) + [""])[:2] for pair in parts.query.split("&") if pair))
    canonical = "\n".join([method, quote(parts.path or "/", safe="/-_.~"), query,
                           "".join(f"{name}:{signed[name]}\n" for name in names), ";".join(names), payload_sha256])
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode("utf-8"), stamp[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {**{k: v for k, v in headers.items()}, "x-amz-date": stamp, "x-amz-content-sha256": payload_sha256,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
                             f"Signature={signature}"}


class S3Storage:
    """Stored files as objects of a bucket, addressed path-style: `https://host[:port]/bucket[/prefix]`."""

    def __init__(self, bucket_url: str, access_key: str, secret_key: str, region: str = "us-east-1",
                 timeout: float = 30.0):
        self.bucket_url = bucket_url.rstrip("/")
        self.access_key, self.secret_key, self.region, self.timeout = access_key, secret_key, region, timeout

    def _url(self, sha256: str) -> str:
        return f"{self.bucket_url}/{object_name(sha256)}"

    def _request(self, method: str, sha256: str, body: bytes = b"", headers: dict | None = None):
        url = self._url(sha256)
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        signed = sign_v4(method, url, headers or {}, payload, self.access_key, self.secret_key, self.region,
                         datetime.now(timezone.utc))
        request = urllib.request.Request(url, data=body or None, method=method, headers=signed)
        return urllib.request.urlopen(request, timeout=self.timeout)

    def exists(self, sha256: str) -> bool:
        try:
            with self._request("HEAD", sha256):
                return True
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise

    def put(self, sha256: str, content: bytes) -> None:
        """Store `content` under its digest; an existing object is kept as it is (never overwritten)."""
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError("content does not match its SHA-256")
        try:
            with self._request("PUT", sha256, content, {"If-None-Match": "*",
                                                        "Content-Type": "application/octet-stream"}):
                return
        except urllib.error.HTTPError as error:
            if error.code in (409, 412):  # stored already (or being stored): the same bytes, kept
                return
            raise

    def open(self, sha256: str) -> BinaryIO:
        try:
            with self._request("GET", sha256) as response:
                return io.BytesIO(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise StoredFileProblem(f"stored file {sha256} is missing from the attachment store") from None
            raise

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as stored:
            return checked_content(sha256, stored.read())
