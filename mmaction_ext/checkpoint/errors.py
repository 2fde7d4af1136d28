"""Why a checkpoint was refused: one exception class per cause, all ``CheckpointLoadError``."""
from __future__ import annotations


class CheckpointLoadError(RuntimeError):
    """A checkpoint file is missing, unreadable or not a checkpoint."""


class CheckpointNotFoundError(CheckpointLoadError, FileNotFoundError):
    """No file at the checkpoint's path; a ``FileNotFoundError`` as MMEngine raises."""


class UnsafeCheckpointError(CheckpointLoadError):
    """A checkpoint needs a pickle global outside the allow-list."""


class CheckpointIntegrityError(CheckpointLoadError):
    """The bytes do not match a checksum (zip CRC-32, sidecar or URL-name sha256), or a
    legacy file carries no checksum at all."""


class ArchitectureMismatchError(CheckpointLoadError):
    """The checkpoint's ViT has another size or layout than the configured one."""


class NoRecognisedKeysError(CheckpointLoadError):
    """Nothing in the checkpoint looks like ViT backbone weights."""


class PartialCheckpointError(CheckpointLoadError):
    """Some weights of the evaluated model were not read from the checkpoint."""


class NonFiniteWeightsError(CheckpointLoadError):
    """The checkpoint holds NaN or infinite weights: every score would be NaN."""
