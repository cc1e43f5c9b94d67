"""What every dataset of an artefact means: the attributes :func:`qgenflow.io.write_artefact` attaches.

One registry, :data:`DESCRIPTIONS`, maps each artefact kind to ordered ``(pattern, describer)``
rules over dataset paths (``fnmatch`` patterns; the first match wins). A describer is a
mapping of attributes, or a function of the dataset's :class:`Context` that returns them
(where the meaning depends on the model: the axes of ``/params/theta`` come from the
ansatz, the name of ``/history/loss`` from the loss the model trained on). Attributes:

* ``description`` (always): what the dataset holds, in one sentence;
* ``units``: the unit of its values (``dimensionless``, ``probability``, ``radian``, ``bit``...);
* ``axes``: the name of each axis, one per dimension;
* ``bit_order``: :data:`BIT_ORDER`, on every dataset indexed by bitstring or holding bits;
* ``loss``: on ``/history/loss``, which loss the series records.

Attributes the writer passes itself (``dataset_attrs``) win over the registry's.
:func:`undescribed` lists the datasets no rule explains; the tests require none.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from .schema import with_defaults

__all__ = ["BIT_ORDER", "DESCRIPTIONS", "QASM_BIT_ORDER", "Context", "describe", "undescribed"]

#: The convention of :mod:`qgenflow.bits`, stated on every dataset indexed by bitstring or holding bits.
BIT_ORDER = (
    "bit i = qubit/wire i = lattice site i; bit value 0 = |0> = Z eigenvalue +1 = spin up; a vector over "
    "n bits has length 2**n and is indexed big-endian (wire 0 is the most significant bit), as qml.probs"
)
#: How the OpenQASM export maps wires to registers (PennyLane's ``to_openqasm(measure_all=True)``).
QASM_BIT_ORDER = (
    "wire i = q[i], measured into c[i] = bit i of a sample; Qiskit prints c[0] as the rightmost (least "
    "significant) character and indexes Statevector.probabilities() little-endian, so reverse the qubit "
    "order to get the big-endian index of /probs"
)


@dataclass(frozen=True)
class Context:
    """What a describer may look at: the dataset's path and shape, the artefact's kind, root attributes and config."""

    name: str
    shape: tuple[int, ...]
    kind: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def leaf(self) -> str:
        return self.name.rsplit("/", 1)[-1]


Describer = Union[Mapping[str, Any], Callable[[Context], Mapping[str, Any]]]

#: Axes of a trained circuit's angles, by ansatz name (``Ansatz.name``).
ANSATZ_AXES: dict[str, tuple[tuple[str, ...], str]] = {
    "hardware_efficient": (("layer", "qubit", "angle"), "angle 0 = RY, 1 = RZ"),
    "symmetry_preserving": (("layer", "pair", "angle"), "per entangling pair of /ansatz/pairs"),
    "clifford": (("layer", "qubit"), "index into the 24 single-qubit Cliffords (qgenflow.models.clifford)"),
    "iqp": (("generator",), "one angle per row of /ansatz/generators"),
    "liu_wang": (("rotation",), "one angle per rotation of the Chow-Liu-tree circuit (/ansatz/tree_edges)"),
    "real_amplitudes": (("layer", "qubit"), "layer 0 = the initial RY layer"),
    "number_conserving": (("layer", "gate"), "one Givens angle per brick-wall pair"),
}


def _angles(ansatz_key: str) -> Callable[[Context], dict[str, Any]]:
    def describe_angles(ctx: Context) -> dict[str, Any]:
        name = str(ctx.attrs.get(ansatz_key, ""))
        axes, note = ANSATZ_AXES.get(name, ((), ""))
        if len(axes) != len(ctx.shape):
            axes = tuple(f"axis{i} of {name or 'the ansatz'}'s parameter shape" for i in range(len(ctx.shape)))
            note = "the shape the ansatz (template or user circuit) declares"
        clifford = name == "clifford"
        return {
            "description": f"trained parameters of the {name or 'model'} circuit ({note}); the circuit itself is "
            "/circuit/qasm where stored",
            "units": "gate index" if clifford else "radian",
            "axes": list(axes),
        }

    return describe_angles


def _trained_config(ctx: Context) -> dict[str, Any]:
    trained = ctx.attrs.get("trained_config")
    if isinstance(trained, str):
        trained = json.loads(trained)
    return dict(trained or ctx.config)


def _mmd(loss: Mapping[str, Any]) -> str:
    if loss.get("sigma_weights"):
        return f"mmd2 (sigma_weights={list(loss['sigma_weights'])})"
    return f"mmd2 (sigmas={list(loss.get('sigmas', []))})"


def loss_name(ctx: Context) -> tuple[str, str]:
    """``(loss, unit)`` of a model's ``/history/loss``, from its config slice and root attributes."""
    kind = ctx.attrs.get("model_kind") or ctx.config.get("kind")
    definition = ctx.attrs.get("loss_definition")
    if definition is not None:  # the classical baselines name their own loss
        return str(definition), "nats per sample"
    if kind in ("qcbm", "clifford"):
        spec = with_defaults("models", _trained_config(ctx))
        loss, method = spec["loss"], spec.get("training", {}).get("method", "exact")
        if kind == "clifford":
            return f"{_mmd(loss)}, unbiased sample estimate, running mean of the current circuit", "dimensionless"
        if method == "estimator":
            return f"{_mmd(loss)}, IQP Z-string estimator against the training samples", "dimensionless"
        if loss["type"] == "kl":
            return "kl (KL(target || model), model floored at 1e-12)", "nats"
        return f"{_mmd(loss)}, Gaussian kernels on Hamming distance", "dimensionless"
    flavor = ctx.attrs.get("flavor")
    if flavor == "quantum_discriminator":
        return "generator loss 1 - P_real(generated state) (Dallaire-Demers & Killoran)", "probability"
    if flavor == "state_preparation":
        if ctx.attrs.get("objective") == "energy":
            return "energy excess <H> - E_exact", str(ctx.attrs.get("energy_units", "energy units of the target"))
        return "infidelity 1 - |<target|psi>|^2", "dimensionless"
    if flavor == "classical_discriminator" or kind == "gan":
        return "non-saturating generator loss E_p[-log D(x)]", "nats"
    return f"training loss of a {kind} model", "dimensionless"


def _loss(ctx: Context) -> dict[str, Any]:
    loss, units = loss_name(ctx)
    return {"description": f"training loss per optimiser step: {loss}", "units": units, "axes": ["step"], "loss": loss}


def _series(what: str, units: str = "dimensionless", axis: str = "logged step") -> Callable[[Context], dict[str, Any]]:
    def describe_series(ctx: Context) -> dict[str, Any]:
        return {"description": f"{what.format(leaf=ctx.leaf)}, one entry per {axis}", "units": units, "axes": [axis]}

    return describe_series


_PROBS = {"description": "exact probability of every bitstring", "units": "probability", "axes": ["bitstring"],
          "bit_order": BIT_ORDER}
_SAMPLES = {"units": "bit", "axes": ["sample", "bit"], "bit_order": BIT_ORDER}


def _samples(what: str) -> dict[str, Any]:
    return {"description": what, **_SAMPLES}


_TARGET: tuple[tuple[str, Describer], ...] = (
    ("probs", {**_PROBS, "description": "exact probability of every bitstring under the target"}),
    ("samples", _samples("training split of the target's samples, one bitstring per row")),
    ("samples_validation", _samples("validation split of the target's samples (tuning scores), one bitstring per row")),
    ("samples_test", _samples("test split of the target's samples (the metrics), one bitstring per row")),
    ("split/*_rows", lambda ctx: {"description": f"rows of the source data in the {ctx.leaf.removesuffix('_rows')} "
                                  "split", "units": "row index", "axes": ["sample"]}),
    ("patterns", _samples("every valid bars-and-stripes image, row-major (bit r*cols + c = pixel (r, c))")),
    ("grid_probs", {**_PROBS, "description": "the continuous distribution integrated over each grid cell, "
                    "before encoding the cell index as bits"}),
    ("state", {"description": "the target's ground-state amplitudes (real; sign convention in the root attribute "
               "state_sign_convention)", "units": "amplitude", "axes": ["bitstring"], "bit_order": BIT_ORDER}),
    ("zz_correlations", {"description": "<Z_i Z_j> between lattice sites", "units": "dimensionless",
                         "axes": ["site", "site"], "bit_order": BIT_ORDER}),
    ("site_positions", {"description": "position of every lattice site", "units": "lattice spacing",
                        "axes": ["site", "coordinate"]}),
    ("bonds", {"description": "nearest-neighbour bonds (site a, site b)", "units": "site index",
               "axes": ["bond", "end"]}),
    ("occupations", {"description": "mean occupation <n_i> of every spin orbital (qubit) in the ground state",
                     "units": "electrons", "axes": ["qubit"], "bit_order": BIT_ORDER}),
    ("coordinates_angstrom", {"description": "nuclear coordinates of the molecule", "units": "angstrom",
                              "axes": ["atom", "xyz"]}),
    ("circuit/generators", {"description": "the IQP circuit's Z-string generators, as qubit indices per row",
                            "units": "qubit index", "axes": ["generator", "qubit slot"]}),
    ("circuit/angles", {"description": "the IQP circuit's angle per generator (phase convention in the root "
                        "attribute phase_convention)", "units": "radian", "axes": ["generator"]}),
    ("circuit/gates", {"description": "single-qubit gate codes (0 = sqrt(X), 1 = sqrt(Y), 2 = sqrt(W)), one row per "
                       "single-qubit layer", "units": "gate code", "axes": ["layer", "qubit"]}),
    ("circuit/couplers", {"description": "two-qubit gates as (cycle, qubit a, qubit b)", "units": "index",
                          "axes": ["coupler", "field"]}),
    ("history/step", _series("VMC optimisation step", "step", "VMC step")),
    ("history/*", _series("VMC optimisation series '{leaf}' (energies in the root attribute energy_units)",
                          "see root energy_units", "VMC step")),
)

_MODEL_HISTORY = {
    "step": ("optimiser step of each loss entry", "step"),
    "log_step": ("optimiser step of each logged metric", "step"),
    "d_loss": ("discriminator loss", "nats"),
    "d_accuracy": ("discriminator accuracy on real and generated samples", "fraction"),
    "mmd": ("squared MMD of the generator's distribution to the reference (root metrics_reference)", "dimensionless"),
    "kl": ("KL(reference || generator)", "nats"),
    "coverage": ("fraction of the reference's support the generator's samples hit", "fraction"),
    "support_mass": ("generator probability on the reference's support", "probability"),
    "mode_collapse": ("1 when the generator has collapsed onto few bitstrings, else 0", "flag"),
    "fidelity": ("fidelity |<target|generator>|^2", "dimensionless"),
    "energy": ("energy <H> of the generator's state", "see root energy_units"),
    "p_real_fake": ("discriminator's P(real) on the generated state", "probability"),
    "p_real_real": ("discriminator's P(real) on the target state", "probability"),
    "proposal_loss": ("loss of the proposed circuit at each annealing step", "dimensionless"),
    "accepted": ("1 where the annealing step accepted its proposal, else 0", "flag"),
    "temperature": ("annealing temperature at each step", "MMD^2"),
}


def _model_history(ctx: Context) -> dict[str, Any]:
    what, units = _MODEL_HISTORY.get(ctx.leaf, (f"training series '{ctx.leaf}'", "dimensionless"))
    return {"description": f"{what}, over training", "units": units, "axes": ["entry"]}


def _params(ctx: Context) -> dict[str, Any]:
    return {"description": f"trained parameter '{ctx.name.removeprefix('params/')}' of the {ctx.attrs.get('model_kind')} "
            "model (a flax/NetKet parameter leaf where the path has several parts)", "units": "dimensionless",
            "axes": [f"axis{i}" for i in range(len(ctx.shape))]}


_MODEL: tuple[tuple[str, Describer], ...] = (
    ("probs", {**_PROBS, "description": "exact probability of every bitstring under the trained model"}),
    ("samples", _samples("samples drawn from the trained model, one bitstring per row")),
    ("history/loss", _loss),
    ("history/*", _model_history),
    ("params/theta", _angles("ansatz")),
    ("params/discriminator/phi", _angles("discriminator_ansatz")),
    ("params/marginals", {"description": "P(bit i = 1) of the product model", "units": "probability",
                          "axes": ["bit"], "bit_order": BIT_ORDER}),
    ("params/weights", {"description": "RBM couplings W[visible, hidden]", "units": "dimensionless",
                        "axes": ["visible", "hidden"], "bit_order": BIT_ORDER}),
    ("params/visible_bias", {"description": "RBM visible biases", "units": "dimensionless", "axes": ["visible"],
                             "bit_order": BIT_ORDER}),
    ("params/hidden_bias", {"description": "RBM hidden biases", "units": "dimensionless", "axes": ["hidden"]}),
    ("params/*", _params),
    ("ansatz/generators", {"description": "the IQP ansatz's Z-string generators, as qubit indices per row",
                           "units": "qubit index", "axes": ["generator", "qubit slot"]}),
    ("ansatz/tree_edges", {"description": "edges (parent, child) of the Chow-Liu tree the circuit entangles along",
                           "units": "qubit index", "axes": ["edge", "end"]}),
    ("ansatz/pairs", {"description": "qubit pairs of the symmetry-preserving gates", "units": "qubit index",
                      "axes": ["pair", "end"]}),
    ("ansatz/reference", {"description": "reference bitstring the circuit starts from", "units": "bit",
                          "axes": ["bit"], "bit_order": BIT_ORDER}),
    ("ansatz/*", lambda ctx: {"description": f"structure '{ctx.leaf}' fixing the circuit beyond its angles",
                              "units": "index", "axes": [f"axis{i}" for i in range(len(ctx.shape))]}),
    ("circuit/qasm", {"description": "the trained circuit as OpenQASM 2.0 text (PennyLane's to_openqasm), every "
                      "wire measured", "units": "text", "bit_order": QASM_BIT_ORDER}),
    ("tuning/scores", {"description": "validation score of every tuning trial (root tuning_metric)",
                       "units": "metric units", "axes": ["trial"]}),
    ("tuning/params/*", lambda ctx: {"description": f"value of {ctx.name.removeprefix('tuning/params/')} in every "
                                     "tuning trial", "units": "config units", "axes": ["trial"]}),
)

_METRIC_UNITS = {"kl": "nats", "tv": "probability", "mmd2": "dimensionless", "fidelity": "dimensionless",
                 "coverage": "fraction", "valid_rate": "fraction", "unseen_valid_rate": "fraction", "xeb": "dimensionless"}


def _metric(ctx: Context) -> dict[str, Any]:
    stem = ctx.leaf.split("_sigma")[0]
    base = next((key for key in sorted(_METRIC_UNITS, key=len, reverse=True) if stem.startswith(key)), stem)
    return {"description": f"metric {ctx.leaf} of the model against the target's test split (attribute source: "
            "exact = from probabilities, samples = from samples; stderr = bootstrap standard error)",
            "units": _METRIC_UNITS.get(base, "dimensionless")}


_AUDIT_SCALARS = {
    "n_params": ("free parameters", "count"),
    "statevector_bytes": ("memory of the model's statevector", "byte"),
    "clifford": ("1 when the circuit is Clifford (classically simulable), else 0", "flag"),
    "anticoncentration": ("2^n sum_x p(x)^2 of the model", "dimensionless"),
    "entropy_half": ("entanglement entropy at the middle cut", "bit"),
    "max_bond_dimension": ("largest MPS bond dimension over the cuts", "count"),
    "flip_mmd2_samples": ("MMD^2 of the bit-flip-noise classical analogue's samples", "dimensionless"),
    "model_mmd2_samples": ("MMD^2 of the model's samples", "dimensionless"),
}


def _audit(ctx: Context) -> dict[str, Any]:
    if ctx.leaf in ("entropies", "bond_dimensions"):
        whose = "the target's state" if ctx.name.startswith("target/") else "the model's state"
        what = "entanglement entropy" if ctx.leaf == "entropies" else "MPS bond dimension"
        return {"description": f"{what} of {whose} at every cut of the chain (cut k splits qubits 0..k | k+1..n-1)",
                "units": "bit" if ctx.leaf == "entropies" else "count", "axes": ["cut"], "bit_order": BIT_ORDER}
    what, units = _AUDIT_SCALARS.get(ctx.leaf, (f"audit finding {ctx.leaf}", "dimensionless"))
    return {"description": f"{what} ({ctx.name.rsplit('/', 1)[0]})", "units": units}


_TRAINABILITY_GRIDS = {
    "var_first": "variance of the first parameter's loss gradient over initialisations",
    "var_middle": "variance of the middle parameter's loss gradient over initialisations",
    "var_mean": "variance of the loss gradient over initialisations, averaged over parameters",
    "loss_mean": "mean loss over initialisations",
}


def _trainability(ctx: Context) -> dict[str, Any]:
    leaf = ctx.leaf
    if leaf in _TRAINABILITY_GRIDS:
        return {"description": f"{_TRAINABILITY_GRIDS[leaf]}, per qubit and layer count", "units": "dimensionless",
                "axes": ["qubits", "layers"]}
    if "/grads/" in ctx.name:
        return {"description": f"loss gradients at random initialisations ({leaf}: n qubits, L layers)",
                "units": "loss per radian", "axes": ["initialisation", "parameter"]}
    if "/shot_noise/" in ctx.name:
        axes = {"shots": ["budget"], "losses": ["budget", "repetition"], "std": ["budget"], "mean": ["budget"]}
        return {"description": f"shot noise of the unbiased sample MMD^2 at the initial angles: {leaf}",
                "units": "shots" if leaf == "shots" else "dimensionless", "axes": axes.get(leaf, [])}
    return {"description": f"the {leaf} counts of the scan grid", "units": "count", "axes": [leaf]}


def _checkpoint(ctx: Context) -> dict[str, Any]:
    if ctx.name == "params":
        return {"description": "parameters after the last completed step", "units": "model units"}
    if ctx.name == "step":
        return {"description": "steps completed", "units": "step"}
    if ctx.name.startswith("opt_state/"):
        return {"description": "optimiser state leaf, in optax's flattening order", "units": "optimizer units"}
    if ctx.name.startswith("history/"):
        return {"description": f"history series '{ctx.leaf}' up to the last completed step", "units": "as model.h5",
                "axes": ["step"]}
    return {"description": f"trainer state '{ctx.leaf}' needed to resume", "units": "trainer units"}


_DEPLOY = (
    ("qasm", {"description": "the deployed circuit as OpenQASM 2.0 text, every wire measured", "units": "text",
              "bit_order": "wire i = q[i], measured into c[i] = bit i of a sample"}),
    ("samples", {"description": "bitstrings the device returned at the largest shot budget (a budget k scores the "
                                "first k rows)", **_SAMPLES}),
    ("shots", {"description": "shot budgets the deployed samples are scored at", "units": "shots", "axes": ["budget"]}),
    ("metrics/*", lambda ctx: {"description": f"{ctx.leaf} of the deployed samples against the target's test split, "
                                              "per shot budget", "units": "metric units", "axes": ["budget"]}),
    ("metrics_stderr/*", lambda ctx: {"description": f"bootstrap standard error of {ctx.leaf} per shot budget",
                                      "units": "metric units", "axes": ["budget"]}),
    ("model_metrics/*", lambda ctx: {"description": f"{ctx.leaf} of the model's own simulated samples (the ideal "
                                                    "reference)", "units": "metric units"}),
    ("tv_model", {"description": "total variation of the deployed samples from the model's exact probabilities",
                  "units": "probability", "axes": ["budget"]}),
    ("tv_model_floor*", {"description": "total variation that ideal sampling of the same size gives (mean; _stderr: "
                                        "its error)", "units": "probability", "axes": ["budget"]}),
)


DESCRIPTIONS: dict[str, tuple[tuple[str, Describer], ...]] = {
    "deploy": _DEPLOY,
    "target": _TARGET,
    "model": _MODEL,
    "metrics": (("*", _metric),),
    "audit": (("*", _audit),),
    "trainability": (("models/*", _trainability),),
    "checkpoint": (("*", _checkpoint),),
    "trial": (("score", {"description": "validation score of the trial's setting (root attribute metric)",
                         "units": "metric units"}),),
    "tuning": (("scores", {"description": "validation score of every trial (root attribute metric)",
                           "units": "metric units", "axes": ["trial"]}),
               ("params/*", lambda ctx: {"description": f"value of {ctx.name.removeprefix('params/')} in every trial",
                                         "units": "config units", "axes": ["trial"]})),
}


def describe(ctx: Context) -> dict[str, Any]:
    """The explaining attributes of one dataset (empty when no rule of its kind matches)."""
    for pattern, describer in DESCRIPTIONS.get(ctx.kind, ()):
        if fnmatch.fnmatchcase(ctx.name, pattern):
            found = describer(ctx) if callable(describer) else describer
            # axes only where they name every dimension (none on a scalar)
            return {key: value for key, value in found.items() if key != "axes" or 0 < len(value) == len(ctx.shape)}
    return {}


def undescribed(kind: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """The dataset paths of a ``kind`` artefact that no rule of :data:`DESCRIPTIONS` matches."""
    return [name for name in names if not any(fnmatch.fnmatchcase(name, p) for p, _ in DESCRIPTIONS.get(kind, ()))]
