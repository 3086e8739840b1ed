"""Functions that write DRS objects: register blobs and bundles, move a blob's storage.

Generic: DRS knows files, checksums, names, aliases and owners, not what the files are. Apps build
on it (``analyses.publishing`` registers an analysis' result files and its bundles).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.checksums import file_checksums, file_sha256
from core.errors import InvalidInput
from drs.models import BundleMember, DrsObject, StorageRoot, blob_id_for

DRS_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DrsRegistrationError(InvalidInput):
    """A file cannot be registered: outside the storage roots, missing, or its checksum differs."""


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
    digest = file_checksums(path)
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
            "size": digest.size_bytes,
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
    if file_sha256(destination) != obj.sha256:
        destination.unlink()
        raise DrsRegistrationError(f"copy of {obj.id} to {destination} does not match its SHA-256")
    obj.storage_root, obj.relative_path = root, relative_path
    obj.save(update_fields=["storage_root", "relative_path"])
    # The old copy goes only once the new location is committed; a rollback leaves the old one in use.
    transaction.on_commit(lambda: source.unlink(missing_ok=True))
    return obj
