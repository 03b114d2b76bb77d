"""One botocore data loader for the process: the boto3 sessions of the emulator (its clients, the seed's, moto's
region lists) and of the plugin's clients to it read each of botocore's JSON models once (:func:`boto3_session`)."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None


def shared_loader() -> Any:
    """The process's botocore loader, made on first use; it caches every model it reads.

    Why: each ``boto3.Session()`` has a loader of its own, and a cold start made four of them that each read
    botocore's endpoint data and EC2's service model (a 3 MB JSON, ~0.1 s each), again and again. Loaded models are
    read-only to botocore (the clients of one session share them already), so sessions can share them too. moto's
    own loader stays apart: it merges moto's extras into the models it reads."""
    global _loader
    with _lock:
        if _loader is None:
            import botocore.session
            from botocore.loaders import create_loader

            _loader = create_loader(botocore.session.get_session().get_config_variable("data_path"))
        return _loader


def boto3_session(**kwargs: Any) -> Any:
    """``boto3.session.Session(**kwargs)`` whose models come from :func:`shared_loader`."""
    import boto3.session
    import botocore.session

    loader = shared_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", loader)
    session = boto3.session.Session(botocore_session=core, **kwargs)
    with _lock:  # each boto3 Session appends boto3's data directory to its loader's paths: once is enough
        paths = loader.search_paths
        while len(paths) > 1 and paths[-1] in paths[:-1]:
            paths.pop()
    return session


def share_with_moto() -> None:
    """Make the boto3 session moto lists regions with (``AccountSpecificBackend.get_session``, made once per
    process) one of :func:`boto3_session`'s, unless moto made it already."""
    from moto.core import base_backend

    real = base_backend.Session
    base_backend.Session = boto3_session  # type: ignore[assignment]
    try:
        base_backend.AccountSpecificBackend.get_session()
    finally:
        base_backend.Session = real  # type: ignore[misc]
