"""Fitting machinery shared by every trainer: the optimisation loop, checkpoints, losses, optimisers.

Below the models (each model's trainer calls :func:`qgenflow.fit.loop.fit`) and above
the core layer; it knows nothing of circuits, targets or the workflow.
"""
