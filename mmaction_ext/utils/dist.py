"""Start a process group on CPU machines, where MMEngine 0.10.7's launcher cannot.

MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` unconditionally, which raises
``AttributeError: module 'torch._C' has no attribute '_cuda_setDevice'`` on CPU torch.
The tools call :func:`init_cpu_distributed` before building the Runner; the Runner then
sees an initialised group and skips its own init. With CUDA present nothing is done.
"""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

from mmaction_ext.utils.env import env_int

DEFAULT_TIMEOUT_S = 600


def _env_from_slurm() -> None:
    """Fill torch's env:// variables from SLURM's, as MMEngine's slurm launcher does."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        import subprocess
        nodes = os.environ['SLURM_NODELIST']
        first = subprocess.check_output(['scontrol', 'show', 'hostnames', nodes], text=True)
        os.environ['MASTER_ADDR'] = first.split()[0]
    os.environ.setdefault('MASTER_PORT', '29500')


def _env_from_mpi() -> None:
    os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
    os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0'))
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')


def init_cpu_distributed(launcher: str, timeout_s: int | None = None) -> bool:
    """Start a gloo process group for ``launcher`` when there is no CUDA device.

    The collective timeout (default 600 s, or ``MMACTION_EXT_DIST_TIMEOUT``) makes a
    stuck rank fail the job instead of hanging forever.

    Returns:
        True when this function started the group.
    """
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if launcher == 'slurm':
        _env_from_slurm()
    elif launcher == 'mpi':
        _env_from_mpi()
    elif launcher != 'pytorch':
        raise ValueError(f'unknown launcher {launcher!r}: use none, pytorch, slurm or mpi')
    timeout_s = timeout_s or env_int('MMACTION_EXT_DIST_TIMEOUT') or DEFAULT_TIMEOUT_S
    dist.init_process_group(backend='gloo', init_method='env://',
                            timeout=datetime.timedelta(seconds=timeout_s))
    return True


def gather_from_ranks(value):
    """``value`` from every rank, in rank order (``[value]`` without a process group)."""
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return [value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def first_disagreement(values: list) -> int | None:
    """The first rank whose value differs from rank 0's, or None when all agree."""
    return next((rank for rank, value in enumerate(values) if value != values[0]), None)
