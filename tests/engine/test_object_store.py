"""The S3-compatible attachment store: AWS's published signature example, and the store's rules against a
stand-in S3 server that checks each request's signature and payload hash (not a real S3 or MinIO)."""
from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.records.file_store import StoredFileProblem, storage_from_env
from engine.records.object_store import S3Storage, sign_v4

ACCESS, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PHOTO = b"\xff\xd8\xff\xe0" + b"photo" * 100


def test_signature_matches_the_aws_documentation_example():
    # "GET Object" example of AWS's Signature Version 4 documentation for S3 (single-chunk payload).
    headers = sign_v4("GET", "https://examplebucket.s3.amazonaws.com/test.txt", {"Range": "bytes=0-9"},
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ACCESS, SECRET,
                      "us-east-1", datetime(2013, 5, 24, tzinfo=timezone.utc))
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


class StandInS3(BaseHTTPRequestHandler):
    """Objects in a dict; refuses a bad signature (403), a body unlike its hash (400), an overwrite (412)."""

    objects: dict[str, bytes] = {}
    refusals: list[str] = []

    def log_message(self, *args):
        pass

    def _authorised(self, body: bytes) -> bool:
        auth = self.headers.get("Authorization", "")
        match = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                         r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
        if not match:
            return False
        names = match.group(4).split(";")
        sent = {name: self.headers.get(name, "") for name in names
                if name not in ("host", "x-amz-date", "x-amz-content-sha256")}
        stamp = datetime.strptime(self.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expected = sign_v4(self.command, f"http://{self.headers['Host']}{self.path}", sent,
                           self.headers["x-amz-content-sha256"], match.group(1), SECRET, match.group(3), stamp)
        payload_ok = hashlib.sha256(body).hexdigest() == self.headers["x-amz-content-sha256"]
        return expected["Authorization"] == auth and payload_ok

    def _answer(self, code: int, body: bytes = b"") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self._authorised(body):
            self.refusals.append("PUT")
            return self._answer(403)
        if self.headers.get("If-None-Match") == "*" and self.path in self.objects:
            return self._answer(412)
        self.objects[self.path] = body
        self._answer(200)

    def do_GET(self):
        if not self._authorised(b""):
            self.refusals.append("GET")
            return self._answer(403)
        if self.path not in self.objects:
            return self._answer(404)
        self._answer(200, self.objects[self.path])

    do_HEAD = do_GET


@pytest.fixture
def bucket():
    StandInS3.objects, StandInS3.refusals = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/evidence/planflow"
    server.shutdown()
    thread.join()


def test_s3_store_writes_once_reads_back_and_refuses_altered_or_missing_objects(bucket):
    store = storage_from_env({"PLANFLOW_ATTACHMENTS_S3_URL": bucket, "AWS_ACCESS_KEY_ID": ACCESS,
                              "AWS_SECRET_ACCESS_KEY": SECRET, "PLANFLOW_ATTACHMENTS_S3_REGION": "cn-north-1"})
    assert isinstance(store, S3Storage)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert not store.exists(digest)
    store.put(digest, PHOTO)
    store.put(digest, PHOTO)  # the second PUT is refused by If-None-Match and changes nothing
    key = f"/evidence/planflow/{digest[:2]}/{digest}"
    assert list(StandInS3.objects) == [key] and store.exists(digest)
    assert store.read(digest) == PHOTO and StandInS3.refusals == []
    StandInS3.objects[key] = PHOTO + b"!"
    with pytest.raises(StoredFileProblem, match="altered"):
        store.read(digest)
    with pytest.raises(StoredFileProblem, match="missing"):
        store.read(hashlib.sha256(b"other").hexdigest())
    with pytest.raises(ValueError):
        store.put(digest, b"not the photo")


def test_a_wrong_secret_is_refused_by_the_store(bucket):
    store = S3Storage(bucket, ACCESS, "not-the-secret")
    with pytest.raises(Exception, match="403"):
        store.put(hashlib.sha256(PHOTO).hexdigest(), PHOTO)
    assert StandInS3.refusals == ["PUT"] and StandInS3.objects == {}
