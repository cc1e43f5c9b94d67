"""Training the Clifford Born machine: its sample MMD, the annealing search, resumption and the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgenflow.errors import InvalidConfigError
from qgenflow.fit.checkpoint import Checkpointer
from qgenflow.kernels import mmd2_samples
from qgenflow.metrics.distances import total_variation
from qgenflow.models.result import TargetData
from qgenflow.schema import with_defaults
from qgenflow.train import TRAINERS, train, trainer_name, training_view
from qgenflow.train import clifford as clifford_trainer
from qgenflow.train.clifford import SampleMMD

#: Agreement of two exact computations of the same quantity.
EXACT = 1e-10
#: A trained model's exact distribution this close (TV) to a target it can represent has learnt it.
LEARNT_TV = 1e-9
#: Sample MMD^2 of a perfect model: zero up to the shot noise of a few hundred samples.
NEAR_ZERO_MMD2 = 5e-3
SIGMAS = [0.5, 1.0, 2.0]


def ghz_data(n: int, n_samples: int, seed: int) -> TargetData:
    """Training samples of the n-bit GHZ distribution (all zeros or all ones, 1/2 each)."""
    bits = np.random.default_rng(seed).integers(0, 2, size=(n_samples, 1), dtype=np.uint8)
    return TargetData(n, np.repeat(bits, n, axis=1), None, None, None, {})


def spec(**fields) -> dict:
    """A small Clifford model entry."""
    return {"kind": "clifford", "layers": 2, "steps": 300, "shots": 400, "checkpoint_every": 0, "n_samples": 500,
            **fields}


@pytest.mark.parametrize("n", [6, 60])
def test_sample_mmd_equals_the_reference_estimator(n, rng):
    """SampleMMD (data term cached) equals kernels.mmd2_samples on the same samples (dense and block paths)."""
    data = rng.integers(0, 2, size=(300, n), dtype=np.uint8)
    model = (rng.random((200, n)) < 0.3).astype(np.uint8)
    loss = SampleMMD(data, SIGMAS)
    assert loss(model) == pytest.approx(mmd2_samples(model, data, SIGMAS), abs=EXACT)
    assert loss(data[:150]) == pytest.approx(mmd2_samples(data[:150], data, SIGMAS), abs=EXACT)


def test_registered_as_a_samples_learner():
    """Kind clifford trains through the one registry and learns from samples under either data access."""
    assert trainer_name(with_defaults("models", {"kind": "clifford"})) == "clifford"
    assert TRAINERS["clifford"] == "qgenflow.train.clifford:train_clifford"
    data = ghz_data(3, 20, 0)
    data.probs = np.eye(8)[0]
    view, learned = training_view({"kind": "clifford"}, data, "probabilities")
    assert learned == "samples" and view.probs is None


def test_learns_ghz_exactly():
    """On 4-bit GHZ samples the search finds a circuit whose exact distribution is GHZ, at near-zero MMD^2."""
    n = 4
    trained = train(spec(), ghz_data(n, 1000, 0), seed=0)
    ghz = np.zeros(2**n)
    ghz[0] = ghz[-1] = 0.5
    assert total_variation(ghz, trained.probs) < LEARNT_TV
    assert abs(trained.history["loss"][-1]) < NEAR_ZERO_MMD2
    assert trained.history["loss"][0] > 10 * NEAR_ZERO_MMD2  # it started far away
    assert set(np.unique(trained.samples.sum(axis=1))) == {0, n}  # every sample all zeros or all ones
    assert trained.samples.shape == (500, n) and trained.n_params == 2 * n
    assert trained.attrs["gradient"] == "search" and trained.attrs["device"] == "default.clifford"
    assert trained.attrs["evaluations"] == 2 * 300 + 1
    history = trained.history
    assert len(history["step"]) == len(history["loss"]) == 301 and len(history["accepted"]) == 300
    assert 0 < trained.attrs["acceptance_rate"] < 1
    assert history["temperature"][0] == pytest.approx(1e-3) and history["temperature"][-1] < 1e-5


def test_learns_a_product_of_fixed_and_fair_bits():
    """A product of fixed bits and fair coins (an affine subspace) is learnt exactly, CZ chain and greedy too."""
    rng = np.random.default_rng(5)
    samples = rng.integers(0, 2, size=(1000, 5), dtype=np.uint8)
    samples[:, 1], samples[:, 3] = 1, 0
    data = TargetData(5, samples, None, None, None, {})
    trained = train(spec(ansatz_options={"entangler": "cz"}, temperature=0.0, layers=1), data, seed=2)
    target = np.zeros(2**5)
    index = np.arange(2**5)
    target[((index >> 3) & 1 == 1) & ((index >> 1) & 1 == 0)] = 1 / 8  # bit 1 (weight 8) set, bit 3 (weight 2) clear
    assert total_variation(target, trained.probs) < LEARNT_TV


def test_training_is_reproducible_and_seeded():
    """Same seed: identical gates, history and samples; another seed: another run."""
    data = ghz_data(4, 200, 1)
    a, b = (train(spec(steps=25), data, seed=3) for _ in range(2))
    assert np.array_equal(a.params["theta"], b.params["theta"]) and np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.history["loss"], b.history["loss"])
    c = train(spec(steps=25), data, seed=4)
    assert not np.array_equal(a.history["loss"], c.history["loss"])


def test_a_killed_run_resumes_to_the_same_result(tmp_path: Path, monkeypatch):
    """Killed during step 25 with checkpoints every 10 steps, a rerun resumes at step 20 and ends as an unbroken run."""
    data, entry, seed = ghz_data(4, 200, 1), with_defaults("models", spec(steps=40)), 3
    whole = clifford_trainer.train_clifford(entry, data, seed)
    checkpointer = Checkpointer(path=tmp_path / "ck.h5", every=10, identity={"run": 1})
    original, calls = clifford_trainer.sample_circuit, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1 + 2 * 25:  # the initial evaluation, then two per step
            raise RuntimeError("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(clifford_trainer, "sample_circuit", dying)
    with pytest.raises(RuntimeError, match="killed"):
        clifford_trainer.train_clifford(entry, data, seed, checkpointer)
    monkeypatch.setattr(clifford_trainer, "sample_circuit", original)
    resumed = clifford_trainer.train_clifford(entry, data, seed, checkpointer)
    assert np.array_equal(resumed.params["theta"], whole.params["theta"])
    for key in ("loss", "proposal_loss", "accepted"):
        np.testing.assert_array_equal(resumed.history[key], whole.history[key])
    assert np.array_equal(resumed.samples, whole.samples)


def test_device_shots_are_refused():
    """Shots per evaluation are the model's own `shots`; a device.shots setting is refused by name."""
    with pytest.raises(InvalidConfigError, match="device.shots"):
        train(spec(device={"name": "default.clifford", "shots": 10}), ghz_data(3, 20, 0), seed=0)
