"""MMEngine's checkpoint loaders and local file backend, made safe and crash-proof.

Two upstream defects, repaired by registering the project's versions under MMEngine's own
names and prefixes (a no-op for code that never loads or saves through MMEngine):

- MMEngine 0.10.7 loads every checkpoint scheme with plain ``torch.load`` or
  ``torch.hub.load_state_dict_from_url`` (``weights_only=False`` for URLs): a pickle
  payload runs, torch >= 2.6 cannot read MMEngine's own checkpoints at all, and no
  checksum is verified. The two functions its loaders call are replaced by checked,
  safe ones; the loaders themselves stay MMEngine's
  (:mod:`mmaction_ext.checkpoint.remote_load`).
- Its local backend writes checkpoints with ``open(path, 'wb')``: a crash mid-write
  leaves a truncated file that ``--resume`` fails on
  (:mod:`mmaction_ext.fileio.atomic_local_backend`).
"""


def use_safe_checkpoint_loaders() -> None:
    """Every MMEngine checkpoint scheme reads through the project's checked, safe loader."""
    from mmaction_ext.checkpoint.remote_load import register_safe_loaders
    register_safe_loaders()


def use_atomic_local_backend() -> None:
    """MMEngine's backend for plain paths writes checkpoints and dumps atomically."""
    from mmaction_ext.fileio.atomic_local_backend import register_atomic_local_backend
    register_atomic_local_backend()
