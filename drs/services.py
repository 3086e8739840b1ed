"""Functions that write DRS objects: register blobs and bundles, register an analysis' files, move storage."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from drs.models import BundleMember, DrsObject, StorageRoot, blob_id_for

if TYPE_CHECKING:
    from analyses.models import Analysis, Study

CHUNK_BYTES = 1024 * 1024
DRS_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DrsRegistrationError(ValueError):
    """A file cannot be registered: outside the storage roots, missing, or its checksum differs."""


@dataclass(frozen=True)
class FileDigest:
    size: int
    sha256: str
    md5: str


def digest_file(path: Path) -> FileDigest:
    """Size, SHA-256 and MD5 of ``path``, read once in 1 MiB chunks.

    :param path: the file to read
    """
    sha256, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            sha256.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return FileDigest(size=size, sha256=sha256.hexdigest(), md5=md5.hexdigest())


def drs_name(name: str) -> str:
    """``name`` made of the characters DRS allows in names: ``[A-Za-z0-9.-_]``."""
    return DRS_NAME_UNSAFE.sub("_", name).strip("_") or "object"


def locate(path: Path) -> tuple[StorageRoot, str]:
    """The storage root ``path`` is under and the path relative to it.

    :param path: an absolute file path
    :raises DrsRegistrationError: if the file is under neither ``results_root`` nor ``exports_root``
    """
    resolved = path.resolve()
    for root in StorageRoot:
        try:
            return root, resolved.relative_to(root.path().resolve()).as_posix()
        except ValueError:
            continue
    raise DrsRegistrationError(f"{path} is not under EMG_CONFIG.storage.results_root or exports_root")


@transaction.atomic
def register_blob(
    *,
    path: Path,
    name: str | None = None,
    description: str = "",
    mime_type: str | None = None,
    aliases: Iterable[str] = (),
    is_private: bool = False,
    owner: str = "",
    expected_sha256: str | None = None,
    expected_md5: str | None = None,
) -> DrsObject:
    """Register the file at ``path`` as a DRS blob, computing its size and checksums from its bytes.

    The blob's id is ``sha256-<hex>``: the same bytes registered again are the same object. A repeat
    registration merges aliases, keeps the object private only if both registrations are private
    (public bytes are public), and points the object at ``path`` if the old location is gone.

    :param path: the file, under ``EMG_CONFIG.storage.results_root`` or ``exports_root``
    :param name: the object's name (default: the file name), made DRS-safe
    :param description: human-readable description
    :param mime_type: default: guessed from the file name
    :param aliases: other names for the object, e.g. accessions or the user-facing file alias
    :param is_private: whether only ``owner`` (and admins) may read it
    :param owner: the owner's username (Webin account), for private objects
    :param expected_sha256: if given, the registration fails unless the bytes have this SHA-256
    :param expected_md5: if given, the registration fails unless the bytes have this MD5
    :raises DrsRegistrationError: on a missing file, a file outside the roots or a checksum mismatch
    """
    if not path.is_file():
        raise DrsRegistrationError(f"{path} is not a file")
    root, relative_path = locate(path)
    digest = digest_file(path)
    if expected_sha256 and expected_sha256.lower() != digest.sha256:
        raise DrsRegistrationError(f"{path}: SHA-256 is {digest.sha256}, expected {expected_sha256}")
    if expected_md5 and expected_md5.lower() != digest.md5:
        raise DrsRegistrationError(f"{path}: MD5 is {digest.md5}, expected {expected_md5}")
    guessed_type, encoding = mimetypes.guess_type(path.name)
    mime = mime_type or ("application/gzip" if encoding == "gzip" else guessed_type) or "application/octet-stream"
    obj, created = DrsObject.objects.select_for_update().get_or_create(
        id=blob_id_for(digest.sha256),
        defaults={
            "name": drs_name(name or path.name),
            "description": description,
            "size": digest.size,
            "sha256": digest.sha256,
            "md5": digest.md5,
            "mime_type": mime,
            "storage_root": root,
            "relative_path": relative_path,
            "aliases": sorted(set(aliases)),
            "is_private": is_private,
            "webin_submitter": owner if is_private else "",
        },
    )
    if created:
        return obj
    obj.aliases = sorted(set(obj.aliases) | set(aliases))
    if obj.is_private and not is_private:
        obj.is_private, obj.webin_submitter = False, ""
    if obj.location is None or not obj.location.is_file():
        obj.storage_root, obj.relative_path = root, relative_path
    obj.description = obj.description or description
    obj.md5 = obj.md5 or digest.md5
    obj.save()
    return obj


def bundle_checksum(children: Sequence[DrsObject], algorithm: str) -> str:
    """The spec's bundle checksum: hash of the sorted concatenation of the top-level contents' checksums.

    :param children: the bundle's direct contents
    :param algorithm: ``sha256`` or ``md5``
    """
    values = sorted(getattr(child, algorithm) for child in children)
    return hashlib.new(algorithm, "".join(values).encode()).hexdigest()


@transaction.atomic
def register_bundle(
    *,
    bundle_id: str,
    name: str,
    children: Sequence[tuple[str, DrsObject]],
    description: str = "",
    aliases: Iterable[str] = (),
    is_private: bool = False,
    owner: str = "",
) -> DrsObject:
    """Create or re-point the bundle ``bundle_id`` so that it holds exactly ``children``.

    The id is the caller's (e.g. an accession or ``mgnify-export-latest``), so it stays the same when
    the contents change; ``updated_time`` records when they last did.

    :param bundle_id: the bundle's stable DRS id
    :param name: the bundle's name
    :param children: ``(name within the bundle, object)`` pairs; names must be unique
    :param description: human-readable description
    :param aliases: other names for the bundle
    :param is_private: whether only ``owner`` (and admins) may read it
    :param owner: the owner's username, for private bundles
    """
    names = [member_name for member_name, _ in children]
    if len(set(names)) != len(names):
        raise DrsRegistrationError(f"bundle {bundle_id}: member names are not unique")
    objects = [child for _, child in children]
    has_md5 = all(child.md5 for child in objects) and bool(objects)
    fields = {
        "name": drs_name(name),
        "description": description,
        "is_bundle": True,
        "size": sum(child.size for child in objects),
        "sha256": bundle_checksum(objects, "sha256"),
        "md5": bundle_checksum(objects, "md5") if has_md5 else "",
        "mime_type": "",
        "storage_root": "",
        "relative_path": "",
        "is_private": is_private,
        "webin_submitter": owner if is_private else "",
    }
    bundle, created = DrsObject.objects.select_for_update().get_or_create(
        id=bundle_id, defaults={**fields, "aliases": sorted(set(aliases))}
    )
    if not created:
        if not bundle.is_bundle:
            raise DrsRegistrationError(f"{bundle_id} is a blob, not a bundle")
        changed = bundle.sha256 != fields["sha256"] or set(names) != set(bundle.members.values_list("name", flat=True))
        for field, value in fields.items():
            setattr(bundle, field, value)
        bundle.aliases = sorted(set(bundle.aliases) | set(aliases))
        if changed:
            bundle.updated_time = timezone.now()
        bundle.save()
        bundle.members.all().delete()
    BundleMember.objects.bulk_create(
        BundleMember(bundle=bundle, child=child, name=drs_name(member_name)) for member_name, child in children
    )
    return bundle


def analysis_results_dir(analysis: Analysis) -> Path:
    """Where an analysis' ``DownloadFile.relative_path`` values are relative to, by convention.

    ``<EMG_CONFIG.storage.results_root>/<MGYS accession>/<MGYA accession>``.
    """
    return Path(settings.EMG_CONFIG.storage.results_root) / analysis.study.accession / analysis.accession


@transaction.atomic
def register_analysis_files(analysis: Analysis, *, results_dir: Path | None = None) -> DrsObject:
    """Register every file in ``analysis.downloads`` as a blob, fill each ``drs_object_id``, build the bundle.

    Each file's bytes must match the ``sha256`` and ``md5`` recorded in its ``DownloadFile``. The
    analysis bundle has the analysis' accession as its DRS id and the files' aliases as member names;
    it is private to the analysis' submitter when the analysis is private. The study's bundle is
    rebuilt too (see ``register_study_bundle``).

    :param analysis: an ``analyses.Analysis`` whose ``downloads`` are recorded
    :param results_dir: the directory the downloads' ``relative_path`` are under;
        default ``analysis_results_dir(analysis)``
    :returns: the analysis bundle
    """
    from analyses.schemas import DownloadFile

    base = results_dir or analysis_results_dir(analysis)
    downloads = [DownloadFile.model_validate(item).model_dump(mode="json") for item in analysis.downloads or []]
    members: list[tuple[str, DrsObject]] = []
    for download in downloads:
        blob = register_blob(
            path=base / download["relative_path"],
            name=download["alias"],
            description=download.get("description", ""),
            aliases=[download["alias"], f"{analysis.accession}/{download['alias']}"],
            is_private=analysis.is_private,
            owner=analysis.webin_submitter,
            expected_sha256=download["sha256"],
            expected_md5=download["md5"],
        )
        download["drs_object_id"] = blob.id
        members.append((download["alias"], blob))
    type(analysis).objects.filter(pk=analysis.pk).update(downloads=downloads, updated_at=timezone.now())
    analysis.downloads = downloads
    bundle = register_bundle(
        bundle_id=analysis.accession,
        name=analysis.accession,
        children=members,
        description=f"Files of analysis {analysis.accession} ({analysis.pipeline_name} {analysis.pipeline_version})",
        is_private=analysis.is_private,
        owner=analysis.webin_submitter,
    )
    register_study_bundle(analysis.study)
    return bundle


@transaction.atomic
def register_study_bundle(study: Study) -> DrsObject:
    """(Re)build the study's bundle: one nested bundle per analysis of the study that has one.

    :param study: an ``analyses.Study``; its accession is the bundle's DRS id
    """
    accessions = list(study.analyses.filter(is_superseded=False).values_list("accession", flat=True))
    children = list(DrsObject.objects.bundles().filter(id__in=accessions).order_by("id"))
    return register_bundle(
        bundle_id=study.accession,
        name=study.accession,
        children=[(child.id, child) for child in children],
        description=f"Analysis results of study {study.accession}",
        aliases=list(study.ena_accessions or []),
        is_private=study.is_private,
        owner=study.webin_submitter,
    )


@transaction.atomic
def move_storage(obj: DrsObject, *, destination: Path) -> DrsObject:
    """Move a blob's bytes to ``destination`` and record the new location; its DRS id does not change.

    The bytes are copied and verified, the new location is recorded, and the old file is removed
    after the transaction commits.

    :param obj: the blob
    :param destination: the new absolute path, under one of the storage roots
    """
    if obj.is_bundle:
        raise DrsRegistrationError(f"{obj.id} is a bundle; bundles have no storage of their own")
    obj = DrsObject.objects.select_for_update().get(pk=obj.pk)
    root, relative_path = locate(destination)
    source = obj.location
    if source is None or source.resolve() == destination.resolve():
        return obj
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
    if digest_file(destination).sha256 != obj.sha256:
        destination.unlink()
        raise DrsRegistrationError(f"copy of {obj.id} to {destination} does not match its SHA-256")
    obj.storage_root, obj.relative_path = root, relative_path
    obj.save(update_fields=["storage_root", "relative_path"])
    # The old copy goes only once the new location is committed; a rollback leaves the old one in use.
    transaction.on_commit(lambda: source.unlink(missing_ok=True))
    return obj
