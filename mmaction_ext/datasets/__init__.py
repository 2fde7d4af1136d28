"""datasets registered into MMAction2's registries."""
from .havid_dataset import HAViDDataset  # noqa: F401
