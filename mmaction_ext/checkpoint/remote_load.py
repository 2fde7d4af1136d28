"""MMEngine's remote checkpoint schemes, loaded with the local files' safe unpickler.

MMEngine 0.10.7's ``http(s)://`` loader calls ``torch.hub.load_state_dict_from_url``,
whose default is ``weights_only=False``: a pickle payload at the address runs. The other
schemes (``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://``,
``mmcls://``, ``pavi://``, ``s3://``, ``petrel://``) end in the same loader or in a plain
``torch.load``. Each is re-registered here under MMEngine's own function name (its log
line "Loads checkpoint by http backend" derives from it): MMEngine still resolves the
model-zoo names and does the downloading, the file lands in torch's hub cache (or a
temporary folder) and :func:`~.safe_load.safe_torch_load` reads it, with the allow-list
and the one explicit opt-in (``MMACTION_EXT_TRUSTED_CHECKPOINTS``, path or URL).
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from typing import Any
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

# interop (issue #22): the local scheme also reads safetensors and Hugging Face folders.
from .local_formats import load_from_local
from .safe_load import safe_torch_load


def _download(url: str, model_dir: str | None, progress: bool) -> str:
    """The cached copy of ``url``, where MMEngine/torch.hub would keep it.

    ``download_url_to_file`` writes a temporary file and renames it, so an interrupted
    download never leaves a partial file under the final name.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached = osp.join(model_dir, osp.basename(urlparse(url).path) or 'checkpoint.pth')
    if not osp.exists(cached):
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return cached


def load_from_http(filename: str, map_location: Any = None, model_dir: str | None = None,
                   progress: bool = os.isatty(0)) -> Any:
    """``http(s)://``: download (local rank 0 first, as MMEngine does), then load safely."""
    rank, world_size = get_dist_info()
    path = _download(filename, model_dir, progress) if rank == 0 else None
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = _download(filename, model_dir, progress)
    return safe_torch_load(path, map_location, source=filename)


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """``torchvision://NAME`` / ``modelzoo://NAME``: MMEngine's URL table, then http."""
    name = filename.split('://', 1)[1]
    return load_from_http(mm_ckpt.get_torchvision_models()[name], map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: URL or file under MMEngine's home."""
    name = filename.split('://', 1)[1]
    name = mm_ckpt.get_deprecated_model_names().get(name, name)
    url = mm_ckpt.get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    return load_from_local(osp.join(mm_ckpt._get_mmengine_home(), url), map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """``mmcls://NAME``: MMEngine's URL table, http, then its key renaming."""
    url = mm_ckpt.get_mmcls_models()[filename[len('mmcls://'):]]
    return mm_ckpt._process_mmcls_checkpoint(load_from_http(url, map_location))


def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    """``pavi://``: download with pavi's modelcloud into a temporary folder."""
    from pavi import modelcloud  # optional, as in MMEngine
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, model.name)
        model.download(path)
        return safe_torch_load(path, map_location, source=filename)


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Any:
    """``s3://`` / ``petrel://``: MMEngine's file backend fetches the bytes."""
    data = mm_ckpt.get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, osp.basename(filename) or 'checkpoint.pth')
        with open(path, 'wb') as f:
            f.write(data)
        return safe_torch_load(path, map_location, source=filename)


SAFE_SCHEMES = {
    '': load_from_local,
    ('http://', 'https://'): load_from_http,
    ('modelzoo://', 'torchvision://'): load_from_torchvision,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab,
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_ceph,
}


def register_safe_loaders() -> None:
    """Replace every MMEngine checkpoint scheme by its safe counterpart (same prefixes)."""
    for prefixes, loader in SAFE_SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes=prefixes, loader=loader, force=True)
