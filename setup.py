"""mmaction_ext: MMAction2 plugin (KTH, HA-ViD dual-hand, VideoMAEv2/AMD ViT loader).

Exact versions live in requirements/pins.txt and are installed by tools/setup_env.sh;
install_requires only names what the package imports, without versions, so that
`pip install -e .` never replaces a GPU machine's torch.
"""
from setuptools import find_packages, setup

setup(
    name='mmaction_ext',
    version='0.1.0',
    description='MMAction2 plugin for fine-tuning VideoMAEv2/AMD ViTs on small action datasets',
    packages=find_packages(include=['mmaction_ext', 'mmaction_ext.*']),
    python_requires='>=3.9',
    install_requires=['torch', 'mmengine', 'numpy', 'einops', 'decord', 'av', 'opencv-python',
                      'matplotlib', 'tqdm'],
)
