"""ECR: what the rollout engine, the load balancers, the ECR bridge and the Docker runner read and write of
repositories and images, and the ``Repository.uri`` patch (:func:`set_repository_host`)."""

from __future__ import annotations

from typing import Any

from .state import _backends

# -- ECR -------------------------------------------------------------------------------------------------


def ecr_image(account: str, region: str, repository: str, *, tag: str | None = None,
              digest: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """(digest, tags) of the image of ``repository`` with that ``digest`` (else that ``tag``); None when ECR
    has no such image or repository."""
    from moto.ecr.models import ecr_backends

    try:
        found = ecr_backends[account][region].repositories.get(repository)
        images = list(found.images) if found is not None else []
    except Exception:  # a region moto does not know
        return None
    for image in images:
        image_digest = image.get_image_digest()
        if (digest and image_digest == digest) or (not digest and tag and tag in image.image_tags):
            return str(image_digest), tuple(image.image_tags)
    return None


def ecr_has_repository(account: str, region: str, repository: str) -> bool:
    """True when ECR has ``repository`` in that account and region (no backend is created to answer)."""
    from moto.ecr.models import ecr_backends

    regions = dict.get(ecr_backends, account)
    backend = dict.get(regions, region) if regions is not None else None
    return backend is not None and backend.repositories.get(repository) is not None


def ecr_tag_of(repository: str, digest: str) -> str | None:
    """The first tag of the image ``digest`` in a repository named ``repository``, in any account and region."""
    from moto.ecr.models import ecr_backends

    for _, _, backend in _backends(ecr_backends):
        found = backend.repositories.get(repository)
        for image in list(found.images) if found is not None else []:
            if image.get_image_digest() == digest and image.image_tags:
                return str(image.image_tags[0])
    return None


def ecr_locate(repository: str, account: str, region: str) -> tuple[str, str] | None:
    """(account, region) of the ECR repository named ``repository``: ``account`` and ``region`` when it is
    there, else the first other that has one; None when none has."""
    from moto.ecr.models import ecr_backends

    try:
        if repository in ecr_backends[account][region].repositories:
            return account, region
    except KeyError:
        pass
    for other_account, other_region, backend in _backends(ecr_backends):
        if repository in backend.repositories:
            return other_account, other_region
    return None


def ecr_put_image(account: str, region: str, repository: str, manifest: str, tag: str | None, media_type: str,
                  digest: str) -> str | None:
    """Store an image in ECR as PutImage would; None when stored, or ECR's refusal when the image or the tag
    is there already (an IMMUTABLE tag, or this very image again)."""
    from moto.ecr.exceptions import ImageAlreadyExistsException
    from moto.ecr.models import ecr_backends

    backend: Any = ecr_backends[account][region]  # moto annotates image_tag as str; a push by digest has none
    try:
        backend.put_image(repository, manifest, tag, media_type, digest)
    except ImageAlreadyExistsException as exc:
        return str(exc)
    return None


def ecr_tags_by_digest(account: str, region: str, repository: str) -> dict[str, set[str]]:
    """Digest -> tags of every image of the repository; empty when there is no such repository."""
    from moto.ecr.models import ecr_backends

    try:
        found = ecr_backends[account][region].repositories.get(repository)
    except KeyError:
        return {}
    if found is None:
        return {}
    return {image.get_image_digest(): set(image.image_tags) for image in found.images}


class _UriProperty:
    """Replaces moto's ``Repository.uri`` (set once in ``__init__``) with ``<registry host>/<name>`` while a
    registry is on; off, it answers what moto set."""

    host: str | None = None

    def __get__(self, repository: Any, owner: type | None = None) -> Any:
        if repository is None:
            return self
        if _UriProperty.host:
            return f"{_UriProperty.host}/{repository.name}"
        return repository.__dict__.get("_ecsdeploy_moto_uri", repository.__dict__.get("uri"))

    def __set__(self, repository: Any, value: str) -> None:
        repository.__dict__["_ecsdeploy_moto_uri"] = value


def set_repository_host(host: str | None) -> None:
    """Make moto's ECR report repository URIs on ``host`` (``127.0.0.1:PORT``), or moto's own when None."""
    from moto.ecr.models import Repository

    if not isinstance(Repository.__dict__.get("uri"), _UriProperty):
        setattr(Repository, "uri", _UriProperty())  # noqa: B010 - a data descriptor on moto's class
    _UriProperty.host = host
