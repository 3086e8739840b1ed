"""The DRS API and file view, end to end through Django's test client, validated against the vendored spec."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from analyses.publishing import register_analysis_files
from drs import api as drs_api
from drs import services
from drs.models import DrsObject
from drs.services import DrsRegistrationError, register_blob
from tests.drs.conftest import OWNER, assert_response_valid, assert_rfc3339, assert_valid, make_analysis, write_file

BASE = "/ga4gh/drs/v1"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def public(storage, db):
    built = make_analysis(storage, 1)
    register_analysis_files(built.analysis)
    built.analysis.refresh_from_db()
    return built


@pytest.fixture
def private(storage, owner):
    built = make_analysis(storage, 2, private=True, owner=OWNER)
    register_analysis_files(built.analysis)
    built.analysis.refresh_from_db()
    return built


def test_service_info_matches_the_spec(client, public):
    response = client.get(f"{BASE}/service-info")
    assert response.status_code == 200
    body = assert_response_valid(response, "200ServiceInfo", strict=False)
    assert body["type"] == {"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"}
    assert body["drs"]["objectCount"] == DrsObject.objects.count() == 4  # 2 blobs + analysis + study bundles
    assert body["drs"]["totalObjectSize"] == sum(len(c) for c in public.contents.values())


def test_round_trip_register_resolve_fetch_and_checksum(client, storage, db):
    content = b"ACGT" * 10_000
    path = write_file(storage.results_root / "MGYS1" / "MGYA1" / "reads.fastq", content)
    blob = register_blob(path=path, aliases=["reads"])
    response = client.get(f"{BASE}/objects/{blob.id}")
    assert response.status_code == 200
    body = assert_response_valid(response, "200OkDrsObject")
    assert body["id"] == blob.id
    assert body["self_uri"] == f"drs://127.0.0.1:8000/{blob.id}"
    assert body["size"] == len(content)
    assert_rfc3339(body["created_time"])
    checksums = {item["type"]: item["checksum"] for item in body["checksums"]}
    assert set(checksums) == {"sha-256", "md5"}
    [method] = body["access_methods"]
    assert method["type"] == "https" and "access_id" not in method
    fetched = client.get(method["access_url"]["url"])
    assert fetched.status_code == 200
    data = body_of(fetched)
    assert hashlib.sha256(data).hexdigest() == checksums["sha-256"]
    assert hashlib.md5(data).hexdigest() == checksums["md5"]
    assert fetched["Accept-Ranges"] == "bytes" and fetched["Content-Length"] == str(len(content))


def test_same_checksum_twice_is_the_same_object(storage, db):
    first = register_blob(path=write_file(storage.results_root / "a" / "x.tsv", b"same bytes\n"), aliases=["a"])
    second = register_blob(path=write_file(storage.results_root / "b" / "y.tsv", b"same bytes\n"), aliases=["b"])
    assert first.id == second.id == f"sha256-{hashlib.sha256(b'same bytes' + bytes([10])).hexdigest()}"
    assert DrsObject.objects.blobs().count() == 1
    assert second.aliases == ["a", "b"]


def test_registration_requires_matching_checksum_and_storage_root(storage, db, tmp_path):
    path = write_file(storage.results_root / "f.txt", b"content")
    with pytest.raises(DrsRegistrationError, match="SHA-256"):
        register_blob(path=path, expected_sha256="0" * 64)
    with pytest.raises(DrsRegistrationError, match="not under"):
        register_blob(path=write_file(tmp_path / "elsewhere.txt", b"x"))
    assert not DrsObject.objects.exists()


def test_analysis_files_fill_drs_ids_and_bundle(client, public):
    downloads = public.analysis.downloads
    assert all(item["drs_object_id"].startswith("sha256-") for item in downloads)
    response = client.get(f"{BASE}/objects/{public.analysis.accession}")
    body = assert_response_valid(response, "200OkDrsObject")
    assert "access_methods" not in body
    assert body["size"] == sum(item["size_bytes"] for item in downloads)
    assert {(item["name"], item["id"]) for item in body["contents"]} == {
        (item["alias"], item["drs_object_id"]) for item in downloads
    }
    sha = hashlib.sha256("".join(sorted(item["sha256"] for item in downloads)).encode()).hexdigest()
    assert {"type": "sha-256", "checksum": sha} in body["checksums"]


def test_study_bundle_nests_analysis_bundles_and_expands(client, public):
    flat = assert_response_valid(client.get(f"{BASE}/objects/{public.study.accession}"), "200OkDrsObject")
    [entry] = flat["contents"]
    assert entry["id"] == public.analysis.accession and "contents" not in entry
    expanded = assert_response_valid(
        client.get(f"{BASE}/objects/{public.study.accession}", {"expand": "true"}), "200OkDrsObject"
    )
    [entry] = expanded["contents"]
    assert sorted(child["name"] for child in entry["contents"]) == sorted(public.contents)
    assert expanded["size"] == flat["size"] == sum(len(c) for c in public.contents.values())


def test_post_object_returns_the_object(client, public):
    response = client.post(
        f"{BASE}/objects/{public.study.accession}", {"expand": True, "passports": []}, content_type="application/json"
    )
    body = assert_response_valid(response, "200OkDrsObject")
    assert "contents" in body["contents"][0]


def test_bulk_objects(client, public, private):
    ids = [public.analysis.accession, public.analysis.downloads[0]["drs_object_id"], "no-such-object"]
    ids.append(private.analysis.accession)
    response = client.post(f"{BASE}/objects", {"bulk_object_ids": ids}, content_type="application/json")
    assert response.status_code == 200
    body = assert_response_valid(response, "200OkDrsObjects", strict=False)
    assert body["summary"] == {"requested": 4, "resolved": 2, "unresolved": 2}
    assert_valid(body["summary"], "/components/schemas/summary")
    assert_valid(body["unresolved_drs_objects"], "/components/schemas/unresolved")
    assert body["unresolved_drs_objects"] == [
        {"error_code": 404, "object_ids": ["no-such-object", private.analysis.accession]},
    ]
    for item in body["resolved_drs_object"]:
        assert_valid(item, "/components/schemas/DrsObject")
    too_many = client.post(f"{BASE}/objects", {"bulk_object_ids": [str(i) for i in range(1001)]}, "application/json")
    assert too_many.status_code == 413
    assert_response_valid(too_many, "413RequestTooLarge")


def test_errors_use_the_spec_error_model(client, public):
    missing = client.get(f"{BASE}/objects/nothing-here")
    assert missing.status_code == 404
    assert assert_response_valid(missing, "404NotFoundDrsObject") == {
        "msg": "No DRS object with id nothing-here",
        "status_code": 404,
    }
    bad = client.post(f"{BASE}/objects", {"bulk_object_ids": "not-a-list"}, content_type="application/json")
    assert bad.status_code == 400
    assert_response_valid(bad, "400BadRequest")
    wrong_access = client.get(f"{BASE}/objects/{public.analysis.downloads[0]['drs_object_id']}/access/s3")
    assert wrong_access.status_code == 404
    assert_response_valid(wrong_access, "404NotFoundAccess")


def test_private_objects_are_missing_to_anonymous_and_strangers(client, private, stranger):
    """Hidden is answered exactly like missing (404, same body shape), so ids cannot be probed for existence."""
    blob_id = private.analysis.downloads[0]["drs_object_id"]
    missing = client.get(f"{BASE}/objects/sha256-{'0' * 64}")
    assert missing.status_code == 404
    for who in ("anonymous", "stranger"):
        if who == "stranger":
            client.force_login(stranger)
        for object_id in (blob_id, private.analysis.accession, private.study.accession):
            hidden = client.get(f"{BASE}/objects/{object_id}")
            assert hidden.status_code == 404, (who, object_id)
            assert_response_valid(hidden, "404NotFoundDrsObject")
            assert hidden.json()["msg"] == f"No DRS object with id {object_id}"
        assert client.get(f"{BASE}/objects/{blob_id}/access/https").status_code == 404
        assert client.get(f"{BASE}/files/{blob_id}").status_code == 404


def test_private_object_served_to_owner_through_signed_url(client, private, owner):
    blob_id = private.analysis.downloads[0]["drs_object_id"]
    client.force_login(owner)
    body = assert_response_valid(client.get(f"{BASE}/objects/{blob_id}"), "200OkDrsObject")
    assert body["access_methods"] == [{"type": "https", "access_id": "https"}]
    access = client.get(f"{BASE}/objects/{blob_id}/access/https")
    assert access.status_code == 200
    url = assert_response_valid(access, "200OkAccess")["url"]
    assert set(query_of(url)) == {"expires", "signature"}
    client.logout()
    fetched = client.get(url)  # the signed URL alone is enough: no session
    assert fetched.status_code == 200
    sha = next(c["checksum"] for c in body["checksums"] if c["type"] == "sha-256")
    assert hashlib.sha256(body_of(fetched)).hexdigest() == sha
    assert fetched["Cache-Control"] == "private, no-store"


def test_http_basic_auth_is_accepted(client, private, owner):
    blob_id = private.analysis.downloads[0]["drs_object_id"]
    good = base64.b64encode(f"{OWNER}:owner-password".encode()).decode()
    bad = base64.b64encode(f"{OWNER}:wrong".encode()).decode()
    assert client.get(f"{BASE}/objects/{blob_id}", HTTP_AUTHORIZATION=f"Basic {good}").status_code == 200
    assert client.get(f"{BASE}/objects/{blob_id}", HTTP_AUTHORIZATION=f"Basic {bad}").status_code == 401


def test_admin_reads_private_objects(admin_client, private):
    blob_id = private.analysis.downloads[0]["drs_object_id"]
    assert admin_client.get(f"{BASE}/objects/{blob_id}").status_code == 200
    assert admin_client.get(f"{BASE}/objects/{blob_id}/access/https").status_code == 200


def test_tampered_and_expired_signed_urls_are_refused(client, private, owner, monkeypatch):
    blob_id = private.analysis.downloads[0]["drs_object_id"]
    client.force_login(owner)
    url = client.get(f"{BASE}/objects/{blob_id}/access/https").json()["url"]
    client.logout()
    params = query_of(url)
    path = urlsplit(url).path
    tampered_signature = {
        **params,
        "signature": ("0" if params["signature"][0] != "0" else "1") + params["signature"][1:],
    }
    later_expiry = {**params, "expires": str(int(params["expires"]) + 3600)}
    other_blob = private.analysis.downloads[1]["drs_object_id"]
    for target, query in ((path, tampered_signature), (path, later_expiry), (f"{BASE}/files/{other_blob}", params)):
        refused = client.get(f"{target}?{urlencode(query)}")
        assert refused.status_code == 404
        assert refused.json() == {
            "msg": f"No DRS blob with id {urlsplit(target).path.rsplit('/', 1)[-1]}",
            "status_code": 404,
        }
    real_sign = drs_api.sign  # a URL signed two hours ago: genuine, and expired an hour ago
    monkeypatch.setattr(drs_api, "sign", lambda object_id: real_sign(object_id, now=time.time() - 7200))
    client.force_login(owner)
    expired_url = client.get(f"{BASE}/objects/{blob_id}/access/https").json()["url"]
    client.logout()
    expired = client.get(expired_url)
    assert expired.status_code == 403
    assert "expired" in expired.json()["msg"]
    assert int(query_of(expired_url)["expires"]) < time.time()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=100-", 100, None), ("bytes=-25", -25, None), ("bytes=10-999999", 10, None)],
)
def test_range_requests(client, public, header, start, end):
    alias, content = next(iter(public.contents.items()))
    blob_id = next(d["drs_object_id"] for d in public.analysis.downloads if d["alias"] == alias)
    response = client.get(f"{BASE}/files/{blob_id}", HTTP_RANGE=header)
    assert response.status_code == 206
    expected = content[start:] if end is None else content[start : end + 1]
    assert body_of(response) == expected
    first = start if start >= 0 else len(content) + start
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(content)}"
    assert response["Content-Length"] == str(len(expected))


def test_unsatisfiable_and_ignored_ranges(client, public):
    alias, content = next(iter(public.contents.items()))
    blob_id = next(d["drs_object_id"] for d in public.analysis.downloads if d["alias"] == alias)
    unsatisfiable = client.get(f"{BASE}/files/{blob_id}", HTTP_RANGE=f"bytes={len(content)}-")
    assert unsatisfiable.status_code == 416
    assert unsatisfiable["Content-Range"] == f"bytes */{len(content)}"
    multi = client.get(f"{BASE}/files/{blob_id}", HTTP_RANGE="bytes=0-1,5-6")
    assert multi.status_code == 200 and body_of(multi) == content
    stale = client.get(f"{BASE}/files/{blob_id}", HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"stale-etag"')
    assert stale.status_code == 200 and body_of(stale) == content
    head = client.head(f"{BASE}/files/{blob_id}", HTTP_RANGE="bytes=0-1")
    assert head.status_code == 206 and head["Content-Length"] == "2"


def test_moving_storage_keeps_the_id_and_link(client, public, storage, django_capture_on_commit_callbacks):
    blob = DrsObject.objects.get(pk=public.analysis.downloads[0]["drs_object_id"])
    old_location = blob.location
    url = client.get(f"{BASE}/objects/{blob.id}").json()["access_methods"][0]["access_url"]["url"]
    destination = storage.exports_root / "archive" / "moved.fasta"
    with django_capture_on_commit_callbacks(execute=True):
        services.move_storage(blob, destination=destination)
    blob.refresh_from_db()
    assert blob.location == destination and destination.is_file()
    assert not old_location.exists()
    assert client.get(f"{BASE}/objects/{blob.id}").json()["access_methods"][0]["access_url"]["url"] == url
    assert body_of(client.get(url)) == public.contents[public.analysis.downloads[0]["alias"]]


def test_openapi_docs_of_the_drs_api(client):
    schema = client.get(f"{BASE}/openapi.json").json()
    assert {"/ga4gh/drs/v1/objects/{object_id}", "/ga4gh/drs/v1/service-info"} <= set(schema["paths"])
