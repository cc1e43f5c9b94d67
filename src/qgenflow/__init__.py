"""qgenflow: reproducible studies of quantum generative models.

The package holds all the science of the workflow: target distributions
(:mod:`qgenflow.targets`), generative models and their training
(:mod:`qgenflow.models`, :mod:`qgenflow.train`), evaluation
(:mod:`qgenflow.metrics`), figures (:mod:`qgenflow.plots`) and the HDF5
artefact layer (:mod:`qgenflow.io`). Importing the top-level package is cheap:
heavy dependencies (PennyLane, JAX, NetKet) load only in the modules that use them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
