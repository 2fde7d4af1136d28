"""MMEngine's checkpoint schemes, kept as they are, reading through the safe loader.

MMEngine 0.10.7's loaders (``http(s)://``, ``torchvision://``, ``modelzoo://``,
``open-mmlab://``, ``openmmlab://``, ``mmcls://``, ``pavi://``, ``s3://``, ``petrel://``)
resolve the model-zoo names and fetch the bytes, then call one of two functions of their
module: ``torch.load`` (weights_only off for a URL) or ``load_url``
(``torch.hub.load_state_dict_from_url``, ``weights_only=False``): a pickle payload runs.
Instead of copying the loaders, the seam is what they call: in MMEngine's checkpoint
module ``torch.load`` becomes :func:`~.safe_load.safe_torch_load` and ``load_url``
becomes :func:`safe_load_url` (the download, the URL-name hash check on download and on
every reuse of the cached copy, then the safe load). ``CheckpointLoader.load_checkpoint``
remembers which URI it is reading, so a buffer (``s3://``) or a temporary file
(``pavi://``) is named, and trusted, by it. Local paths keep the project's
:func:`~.local_formats.load_from_local` (torch files through :mod:`.safe_load`, whose
not-found message names the config keys; safetensors; Hugging Face folders).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import os.path as osp
import types
from typing import Any, Iterator
from urllib.parse import urlparse

import torch
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

from .errors import CheckpointIntegrityError
from .integrity import check_name_hash, name_hash
from .local_formats import load_from_local  # torch files, safetensors, Hugging Face folders
from .safe_load import safe_torch_load

_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    'mmaction_ext_checkpoint_source', default=None)


@contextlib.contextmanager
def reading(source: str) -> Iterator[None]:
    """Name the checkpoint URI that the loads inside this block read."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def _remote_source() -> str | None:
    source = _SOURCE.get()
    return source if source and '://' in source else None


def safe_load_url(url: str, model_dir: str | None = None, map_location: Any = None,
                  progress: bool = True, check_hash: bool = False,
                  file_name: str | None = None, **_: Any) -> Any:
    """``torch.hub.load_state_dict_from_url``, checked and safe.

    The file is cached where torch.hub keeps it (``<hub dir>/checkpoints`` or
    ``model_dir``). A name carrying a sha256 prefix (``..._20230510-3e7f93b2.pth``) is
    checked whatever ``check_hash`` says: on download (a mismatch never reaches the
    cache: torch.hub writes a temporary file and renames it only when it matches) and
    each time the cached copy is reused.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    name = file_name or osp.basename(urlparse(url).path) or 'checkpoint.pth'
    cached = osp.join(model_dir, name)
    if osp.exists(cached):
        check_name_hash(cached, url, 'cached')
    else:
        try:
            torch.hub.download_url_to_file(url, cached, name_hash(name), progress=progress)
        except RuntimeError as err:
            if 'invalid hash value' not in str(err):
                raise
            raise CheckpointIntegrityError(
                f'the file downloaded from {url} does not match the sha256 prefix in its '
                f'name ({name_hash(name)}): {err}. Nothing was cached; the server sent '
                f'other bytes than the published file. Try again later, or check the '
                f'URL.') from err
    return safe_torch_load(cached, map_location, source=url)


def _load_via_mmengine(f: Any, map_location: Any = None, **_: Any) -> Any:
    """``torch.load`` as MMEngine's loaders call it (a path, or a buffer for s3)."""
    source = _remote_source()
    if isinstance(f, (str, os.PathLike)) and source is None:
        return load_from_local(str(f), map_location)
    return safe_torch_load(f, map_location, source=source)


class _TorchForMMEngineLoaders(types.ModuleType):
    """``torch`` as MMEngine's checkpoint module sees it: all of it, but a safe ``load``."""

    load = staticmethod(_load_via_mmengine)

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)


def _remembering_source(load_checkpoint):
    @functools.wraps(load_checkpoint)
    def wrapper(cls, filename, map_location=None, logger='current'):
        with reading(str(filename)):
            return load_checkpoint(cls, filename, map_location, logger)
    wrapper.mmaction_ext_safe = True
    return wrapper


def register_safe_loaders() -> None:
    """Route every MMEngine checkpoint scheme through the safe loader. Idempotent."""
    if not isinstance(mm_ckpt.torch, _TorchForMMEngineLoaders):
        mm_ckpt.torch = _TorchForMMEngineLoaders('torch')
    mm_ckpt.load_url = safe_load_url
    stock = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if not getattr(stock, 'mmaction_ext_safe', False):
        CheckpointLoader.load_checkpoint = classmethod(_remembering_source(stock))
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
