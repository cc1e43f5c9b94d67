"""Seeded random streams, one per purpose, so stages never share or reuse draws.

Every generator in qgenflow comes from :func:`make_rng` (or :func:`seed_sequence`)
with a stream named here. A stream's words never change, since results depend on
them. The IQP estimator's and the classical QGAN discriminator's streams share the
numbers 101 and 102: the two are never trained in one job.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "make_rng", "seed_sequence", "seed_words"]

STREAMS: dict[str, int | tuple[int, ...]] = {
    "target": 0,
    "model_init": 1,
    "model_sample": 2,
    "evaluation": 3,  # bootstrap resamples of the metrics
    "test": 4,  # a target's test draw from its exact probabilities (the former "holdout" stream)
    "reference": 5,
    "validation": 6,  # a target's validation draw from its exact probabilities
    "split": 7,  # the shuffle of sample rows into train / validation / test (data files, shot and VMC samples)
    "iqp_circuit": 11,  # a target's IQP circuit, under its circuit_seed
    "random_circuit": 16,  # a random-circuit-sampling target's single-qubit gates, under its circuit_seed
    "gan_noise": 12,  # the classical GAN generator's noise and bit draws (with the step)
    "audit_flip": (14, 5),  # the advantage audit's classical bit-flip analogue of an IQP model
    "estimator_steps": 101,  # per-step Z-string and sample draws of the IQP estimator (with the step)
    "estimator_init": 102,  # initial IQP angles of the estimator (data-informed start plus noise)
    "qgan_discriminator_init": 101,  # the classical discriminator's network weights
    "qgan_batches": 102,  # the classical discriminator's minibatches (with step and inner step)
    "quantum_discriminator_init": (1, 103),  # the quantum discriminator's angles
    "clifford_search": (1, 104),  # the Clifford Born machine's annealing proposals (with the step), training subset
    "trainability_init": (15, 1),  # random initialisations of the gradient-variance scan (with qubits, layers)
    "trainability_shots": (15, 2),  # shot draws of the loss's shot-noise measurement (with budget, repetition)
    "boson_interferometer": 18,  # a boson sampling target's Haar interferometer, under its interferometer_seed
    "deploy_shots": (17, 1),  # a deployed model's device shots (the device's sampling seed)
    "deploy_floor": (17, 2),  # ideal multinomial draws from a deployed model's probabilities (the TV floor)
}


def seed_words(seed: int, stream: str, *more: int) -> list[int]:
    """``[seed, *stream words, *more]``: the entropy of ``stream`` under ``seed``, refined by ``more`` (a step)."""
    words = STREAMS[stream]
    return [int(seed), *((words,) if isinstance(words, int) else words), *(int(x) for x in more)]


def seed_sequence(seed: int, stream: str, *more: int) -> np.random.SeedSequence:
    """The seed sequence of ``stream`` (for seeding other libraries, e.g. a JAX key)."""
    return np.random.SeedSequence(seed_words(seed, stream, *more))


def make_rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    """An independent generator for ``stream`` (a key of :data:`STREAMS`) under ``seed``."""
    return np.random.default_rng(seed_words(seed, stream, *more))
