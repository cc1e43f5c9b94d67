"""data_access: what every model may learn from (training samples or exact probabilities), declared and recorded."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chisquare

from qgenflow.errors import InvalidConfigError
from qgenflow.io import Artefact, read_artefact
from qgenflow.models.baselines import learning_data
from qgenflow.models.result import TargetData
from qgenflow.plan import artefact_identity, check_config, check_schema, model_params
from qgenflow.plan.entries import learns_from_state
from qgenflow.schema import with_defaults
from qgenflow.stages.evaluate import run_evaluation
from qgenflow.stages.target import run_target
from qgenflow.stages.train import run_training
from qgenflow.train import LEARNS_FROM, TRAINERS, train, trainer_name, training_view

TOL = 1e-10
SIGMAS = [1.0, 2.0]
BAS_FEW = {"kind": "bars_and_stripes", "rows": 2, "cols": 2, "n_samples": 40}
CHI2_P_MIN = 1e-3  # a correct sampler fails with probability 1e-3 (the seed is fixed)
EVALUATION = {"sigmas": [1.0], "n_samples": 200, "n_bootstrap": 20}


def _bits(n: int) -> np.ndarray:
    """All n-bit strings, big-endian, written out independently of qgenflow.bits."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)


def _histogram(samples: np.ndarray) -> np.ndarray:
    """Empirical distribution of bit rows as a big-endian probability vector (independent code)."""
    n = samples.shape[1]
    counts = np.zeros(2**n)
    for row in samples:
        counts[int("".join(str(int(b)) for b in row), 2)] += 1
    return counts / len(samples)


def _mmd2(p: np.ndarray, q: np.ndarray, sigmas: list[float]) -> float:
    """Squared MMD under the mean of Gaussian kernels on Hamming distance, by the full 2^n x 2^n kernel matrix."""
    x = _bits(int(np.log2(p.size))).astype(float)
    hamming = np.abs(x[:, None, :] - x[None, :, :]).sum(axis=-1)
    kernel = np.mean([np.exp(-hamming / (2 * s**2)) for s in sigmas], axis=0)
    d = p - q
    return float(d @ kernel @ d)


@pytest.fixture(scope="module")
def bas_few(tmp_path_factory) -> Path:
    """Bars-and-stripes 2x2 with exact probabilities and only 40 training samples (their histogram is far from p)."""
    return run_target(BAS_FEW, 0, tmp_path_factory.mktemp("bas") / "target.h5")


def _samples_only(samples: np.ndarray) -> Artefact:
    """A target artefact known only through samples (as a data file is)."""
    return Artefact(path=Path("memory"), kind="target", attrs={"n_qubits": samples.shape[1]},
                    datasets={"samples": samples})


@pytest.mark.parametrize("access", ["samples", "probabilities"])
def test_qcbm_loss_target_follows_data_access(bas_few, tmp_path, access):
    """Under samples a QCBM's MMD is exact against the training histogram, under probabilities against p."""
    spec = {"kind": "qcbm", "layers": 2, "loss": {"type": "mmd", "sigmas": SIGMAS}, "optimizer": {"steps": 5},
            "n_samples": 100, "data_access": access}
    model = read_artefact(run_training(spec, bas_few, 0, tmp_path / "m.h5"), kind="model")
    target = read_artefact(bas_few, kind="target")
    empirical, exact = _histogram(np.asarray(target["samples"])), np.asarray(target["probs"])
    to_empirical, to_exact = _mmd2(model["probs"], empirical, SIGMAS), _mmd2(model["probs"], exact, SIGMAS)
    assert abs(to_empirical - to_exact) > 100 * TOL  # the two losses can be told apart
    expected = to_empirical if access == "samples" else to_exact
    assert model["history/loss"][-1] == pytest.approx(expected, abs=TOL)
    assert model.attrs["data_access"] == access and model.attrs["n_train_samples"] == BAS_FEW["n_samples"]
    assert model.config["data_access"] == access


@pytest.mark.parametrize("access", ["samples", "probabilities"])
def test_product_marginals_follow_data_access(bas_few, access):
    """The product model's marginals: training frequencies under samples, exact P(x_i = 1) under probabilities."""
    target = read_artefact(bas_few, kind="target")
    result = train({"kind": "product", "n_samples": 10, "data_access": access}, target, seed=0)
    samples, probs = np.asarray(target["samples"], dtype=float), np.asarray(target["probs"])
    expected = samples.mean(axis=0) if access == "samples" else probs @ _bits(4).astype(float)
    np.testing.assert_allclose(result.params["marginals"], expected, rtol=0, atol=TOL)
    assert not np.allclose(samples.mean(axis=0), probs @ _bits(4))  # 40 samples miss the exact marginals


@pytest.mark.parametrize("kind", ["rbm", "autoregressive"])
@pytest.mark.parametrize("access", ["samples", "probabilities"])
def test_rbm_and_made_weight_their_likelihood_by_what_they_see(bas_few, kind, access):
    """Full-batch RBM and MADE minimise -sum_x w(x) log q(x) with w = the training histogram, or w = p."""
    target = read_artefact(bas_few, kind="target")
    spec = {"kind": kind, "optimizer": {"steps": 5}, "n_samples": 10, "data_access": access}
    result = train(spec, target, seed=0)
    weights = _histogram(np.asarray(target["samples"])) if access == "samples" else np.asarray(target["probs"])
    support = weights > 0
    expected = -np.sum(weights[support] * np.log(result.probs[support]))
    assert result.history["loss"][-1] == pytest.approx(expected, abs=1e-9)
    assert result.attrs["train_nll"] == pytest.approx(expected, abs=1e-9)
    assert result.attrs["data_access"] == access


def test_minibatches_from_probabilities_are_draws_from_p():
    """Learning from p, minibatches (and chain starts) are seeded draws of p's support with frequencies p."""
    p = np.random.default_rng(3).dirichlet(np.ones(8))
    p[5] = 0.0
    p /= p.sum()
    data = TargetData(n_qubits=3, samples=_bits(3)[[0, 1]], probs=p, state=None, config=None, attrs={})
    learn = learning_data(data)
    assert learn.from_probabilities
    np.testing.assert_allclose(learn.weights, p[p > 0], rtol=0, atol=TOL)
    np.testing.assert_array_equal(learn.rows, _bits(3)[p > 0])
    for draw in (learn.minibatch, learn.draw):
        rows = draw(np.random.default_rng(7), 50_000)
        counts = np.bincount(rows.astype(int) @ np.array([4, 2, 1]), minlength=8)
        assert counts[5] == 0
        assert chisquare(counts[p > 0], 50_000 * p[p > 0]).pvalue > CHI2_P_MIN
        np.testing.assert_array_equal(rows, draw(np.random.default_rng(7), 50_000))


def test_made_minibatch_training_from_probabilities_is_seeded(bas_few):
    """A minibatch MADE learning from p is bit-identical for one seed and differs for another."""
    target = read_artefact(bas_few, kind="target")
    spec = {"kind": "autoregressive", "hidden": 4, "batch_size": 2, "optimizer": {"steps": 4}, "n_samples": 10,
            "data_access": "probabilities"}
    a, b, c = (train(spec, target, seed=s) for s in (1, 1, 2))
    assert a.attrs["loss_definition"] == "minibatch_nll"
    np.testing.assert_array_equal(a.params["_layers_1/kernel"], b.params["_layers_1/kernel"])
    assert not np.array_equal(a.params["_layers_1/kernel"], c.params["_layers_1/kernel"])


def test_without_probabilities_models_fall_back_to_samples_and_say_so():
    """A target known only through samples: under probabilities every model learns from samples, recorded."""
    samples = _bits(3)[np.random.default_rng(0).integers(0, 8, 200)]
    for spec in ({"kind": "product", "n_samples": 10}, {"kind": "qcbm", "layers": 1, "optimizer": {"steps": 2},
                                                         "n_samples": 10}):
        result = train({**spec, "data_access": "probabilities"}, _samples_only(samples), seed=0)
        assert result.attrs["data_access"] == "samples" and result.attrs["n_train_samples"] == 200


def test_the_samples_view_withholds_probabilities_and_state_everywhere():
    """Under samples neither the trainer nor an adaptive ansatz (through source) can read p or the state."""
    p = np.full(4, 0.25)
    data = TargetData(n_qubits=2, samples=_bits(2), probs=p, state=np.sqrt(p), config={"kind": "heisenberg"},
                      attrs={"n_qubits": 2}, source="the artefact")
    view, learned = training_view({"kind": "qcbm"}, data, "samples")
    assert learned == "samples" and view.probs is None and view.state is None
    assert view.source.probs is None and view.source.state is None and view.source.config == data.config
    view, learned = training_view({"kind": "qcbm"}, data, "probabilities")
    assert learned == "probabilities" and view.probs is p and view.state is None and view.source.probs is p
    view, learned = training_view({"kind": "qgan", "flavor": "state_preparation"}, data, "probabilities")
    assert learned == "state" and view.state is data.state
    with pytest.raises(InvalidConfigError, match="data_access"):
        training_view({"kind": "qgan", "flavor": "state_preparation"}, data, "samples")


def test_classical_qgan_monitors_only_what_it_learns_from(bas_few):
    """The classical-discriminator QGAN's logged metrics compare with the empirical histogram under samples."""
    target = read_artefact(bas_few, kind="target")
    spec = {"kind": "qgan", "layers": 1, "optimizer": {"steps": 2}, "log_every": 1, "n_samples": 10}
    for access, reference in (("samples", "empirical"), ("probabilities", "probs")):
        result = train({**spec, "data_access": access}, target, seed=0)
        assert result.attrs["metrics_reference"] == reference and result.attrs["data_access"] == access


def test_model_and_metrics_files_carry_data_access(bas_few, tmp_path):
    """model.h5 and metrics.h5 record data_access and n_train_samples; the reference rows say theirs."""
    spec = {"kind": "product", "n_samples": 200, "data_access": "probabilities"}
    model = run_training(spec, bas_few, 0, tmp_path / "m.h5")
    metrics = read_artefact(run_evaluation(bas_few, model, EVALUATION, 0, tmp_path / "e.h5"), kind="metrics")
    assert metrics.attrs["data_access"] == "probabilities" and metrics.attrs["n_train_samples"] == 40
    for reference, access, n_train in (("data", "samples", 40), ("uniform", "none", 0)):
        path = run_evaluation(bas_few, reference, EVALUATION, 0, tmp_path / f"{reference}.h5")
        attrs = read_artefact(path, kind="metrics").attrs
        assert attrs["data_access"] == access and attrs["n_train_samples"] == n_train


def _config(model: dict, **top) -> dict:
    heis = {"kind": "heisenberg", "lattice": [2, 2], "pbc": False, "method": "exact", "n_samples": 100}
    return {"targets": {"heis": heis}, "models": {"q": model}, "studies": [{"targets": ["heis"], "models": ["q"]}],
            **top}


@pytest.mark.parametrize("flavor", ["state_preparation", "quantum_discriminator"])
def test_state_learning_qgans_are_refused_under_samples_before_any_job(flavor):
    """The plan refuses a QGAN that needs the target state under data_access: samples, naming key and model."""
    model = {"kind": "qgan", "flavor": flavor}
    with pytest.raises(InvalidConfigError, match=r"data_access: .*'q'.*data_access: probabilities") as err:
        check_config(_config(model))
    assert err.value.key == "data_access"
    check_config(_config(model, data_access="probabilities"))
    check_config(_config({"kind": "qgan", "flavor": "classical_discriminator"}))


def test_data_access_inside_a_model_entry_is_refused():
    """data_access is study-level: written in a model entry it is refused, naming the key; bad values too."""
    config = _config({"kind": "product", "data_access": "probabilities"})
    with pytest.raises(InvalidConfigError, match="study-level") as err:
        check_schema(config)
    assert err.value.key == "models.q.data_access"
    check_schema(_config({"kind": "product"}, data_access="probabilities"))
    with pytest.raises(InvalidConfigError) as err:
        check_schema(_config({"kind": "product"}, data_access="exact"))
    assert err.value.key == "data_access"


def test_changing_data_access_changes_the_training_slice():
    """The train job's config slice (and the identity its model.h5 must have) carries data_access."""
    model = {"kind": "product"}
    default, exact = model_params(_config(model), "q"), model_params(_config(model, data_access="probabilities"), "q")
    assert default["data_access"] == "samples" and exact["data_access"] == "probabilities"
    assert {k: v for k, v in default.items() if k != "data_access"} == {
        k: v for k, v in exact.items() if k != "data_access"
    }
    path = "results/models/heis/q/seed0/model.h5"
    assert artefact_identity(_config(model), path)["config"] != artefact_identity(
        _config(model, data_access="probabilities"), path
    )["config"]


def _entry(name: str) -> dict:
    kind, _, variant = name.partition("/")
    if kind == "qgan":
        return {"kind": "qgan", "flavor": variant}
    if variant == "estimator":
        return {"kind": "qcbm", "ansatz": "iqp", "training": {"method": "estimator"}}
    return {"kind": kind}


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_plan_and_trainers_agree_on_what_each_model_learns_from(name):
    """Every trainer declares what it learns from; the plan refuses under samples exactly those that cannot."""
    assert LEARNS_FROM.keys() == TRAINERS.keys()
    entry = _entry(name)
    assert trainer_name(with_defaults("models", entry)) == name
    assert set(LEARNS_FROM[name]) <= {"samples", "probabilities", "state"}
    assert learns_from_state(entry) == ("samples" not in LEARNS_FROM[name])


def test_the_training_stage_refuses_a_state_learner_under_samples(bas_few, tmp_path):
    """A QGAN that needs the state, trained under samples through the stage, fails naming data_access."""
    with pytest.raises(InvalidConfigError, match="data_access"):
        run_training({"kind": "qgan", "flavor": "state_preparation", "data_access": "samples"}, bas_few, 0,
                     tmp_path / "q.h5")
    assert not (tmp_path / "q.h5").exists()
