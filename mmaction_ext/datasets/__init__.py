"""datasets registered into MMAction2's registries."""
