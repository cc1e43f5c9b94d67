"""IQP circuit family for Born machines: ``H^n D(theta) H^n`` on ``|0...0>`` or a spin-flip-symmetric input.

Phase convention (the one of :mod:`qgenflow.targets.iqp`, ``qml.IQP`` and
``qml.qnn.iqp_expval``)::

    D(theta) = prod_j exp(-i theta_j Z_{g_j}),    one ``MultiRZ(2 theta_j, wires=g_j)`` per generator,

so a model trained on an ``iqp`` target has angles directly comparable with the
target's ``circuit/angles``. The parameters are the ``theta_j`` (shape ``(G,)``); the
gate angles PennyLane sees are ``2 theta_j``, so an adjoint-method Jacobian taken
with respect to the tape parameters must be multiplied by
:attr:`IQPAnsatz.gate_angle_scale` (= 2) to give ``dL/dtheta``.

``layers`` is ignored: every gate of ``D`` is diagonal, so all layers commute and a
second parameter set on the same generators would only re-parametrise the sums
``theta_j + theta_j'``. The depth of the model is set by its generators instead
(``pattern``, ``max_weight`` or ``weights``: any weights up to n, e.g. the weight-4 and
weight-6 generators of large IQP studies; the exact and estimator paths take any weight).

``spin_flip_symmetric: true`` prepares ``(|0...0> + |1...1>) / sqrt(2)`` (a Hadamard
on wire 0 and a CNOT fan-out 0 -> i) before the IQP circuit, as in
Recio-Armengol, Ahmed, Bowles (arXiv 2503.02934) and ``qml.qnn.iqp_expval(spin_sym=True)``.
``H^n D H^n`` commutes with ``X^n`` (``H^n X^n H^n = Z^n`` commutes with the diagonal
``D``) and the input is ``X^n``-invariant, so ``p(x) = p(~x)`` for every ``theta``;
Z-strings of odd weight then have expectation 0. (Restricting ``D`` to even-weight
generators would not do this: it fixes the parity of the output, not its flip symmetry.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidConfigError
from ..targets.iqp import GATE_ANGLE_SCALE, candidate_generators, generator_lists, iqp_gate_ops, pad_generators
from .ansatz import Ansatz, register_ansatz

__all__ = ["IQP_OPTIONS", "IQPAnsatz", "generator_lists", "pad_generators"]

#: Allowed ``ansatz_options`` of the ``iqp`` family and their defaults.
IQP_OPTIONS: dict[str, Any] = {
    "pattern": "all",
    "max_weight": 2,
    "lattice": None,
    "pbc": False,
    "spin_flip_symmetric": False,
    "weights": None,
}


def _all_low_weight(n_qubits: int, options: dict[str, Any]) -> np.ndarray | None:
    """``pad_generators(candidate_generators(...))`` built with numpy for pattern ``all`` and weights in {1, 2}.

    The same rows in the same order (weight 1, then pairs ``i < k`` lexicographically), in
    O(G) array operations instead of G Python tuples (50 million pairs at n = 10,000);
    ``None`` for any other option set, which goes through ``candidate_generators``.
    """
    if options["pattern"] != "all" or options["lattice"] is not None or options["pbc"]:
        return None
    weights = options["weights"]
    if weights is None:
        if not isinstance(options["max_weight"], int) or options["max_weight"] < 1:
            return None
        weights = range(1, min(options["max_weight"], n_qubits) + 1)
    chosen = {int(w) for w in weights}
    if not chosen or not chosen <= {1, 2} or max(chosen) > n_qubits:
        return None
    parts = []
    if 1 in chosen:
        single = np.full((n_qubits, max(chosen)), -1, dtype=np.int64)
        single[:, 0] = np.arange(n_qubits)
        parts.append(single)
    if 2 in chosen:
        parts.append(np.stack(np.triu_indices(n_qubits, 1), axis=1).astype(np.int64))
    return np.concatenate(parts)


@register_ansatz("iqp")
@dataclass
class IQPAnsatz(Ansatz):
    """IQP Born machine: Hadamards, one trainable ``exp(-i theta_j Z_{g_j})`` per generator, Hadamards.

    Options (``ansatz_options``): ``pattern`` (``all`` | ``chain`` | ``square``),
    ``max_weight`` (1 to n), or ``weights`` (an explicit list such as [1, 2, 4]),
    ``lattice`` ([L0, L1], only for ``square``), ``pbc``,
    ``spin_flip_symmetric`` (see the module docstring). Generators come from
    :func:`qgenflow.targets.iqp.candidate_generators` unless ``structure["generators"]``
    is given (e.g. when a model is rebuilt from its artefact).
    """

    #: d(gate angle) / d(theta): the gates are ``MultiRZ(2 theta)``.
    gate_angle_scale = GATE_ANGLE_SCALE

    def __post_init__(self) -> None:
        unknown = sorted(set(self.options) - set(IQP_OPTIONS))
        if unknown:
            raise InvalidConfigError(
                f"ansatz_options.{unknown[0]}", f"unknown option of ansatz iqp; allowed: {', '.join(IQP_OPTIONS)}"
            )
        self.options = {**IQP_OPTIONS, **self.options}
        if "generators" in self.structure:
            gens = pad_generators(np.asarray(self.structure["generators"]))
        elif (fast := _all_low_weight(self.n_qubits, self.options)) is not None:
            gens = fast
        else:
            try:
                found = candidate_generators(
                    self.n_qubits,
                    pattern=self.options["pattern"],
                    max_weight=int(self.options["max_weight"]),
                    lattice=self.options["lattice"],
                    pbc=bool(self.options["pbc"]),
                    weights=self.options["weights"],
                )
            except InvalidConfigError as exc:  # re-key: generators.* -> ansatz_options.*
                raise InvalidConfigError(
                    exc.key.replace("generators.", "ansatz_options."), str(exc).split(": ", 1)[1]
                ) from None
            gens = pad_generators(found)
        valid = gens >= 0
        if gens.shape[0] == 0 or not valid[:, 0].all() or gens.max() >= self.n_qubits:
            raise ValueError(f"generators must be non-empty sets of qubits in 0..{self.n_qubits - 1}")
        self.structure["generators"] = gens

    @property
    def generators(self) -> np.ndarray:
        """int64 [G, w] qubit indices, padded with -1."""
        return self.structure["generators"]

    @property
    def spin_flip_symmetric(self) -> bool:
        return bool(self.options["spin_flip_symmetric"])

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self.generators.shape[0]),)

    def ops(self, params: np.ndarray) -> list:
        """PennyLane operations; the trainable gate parameters are ``2 * params`` in generator order."""
        return iqp_gate_ops(
            generator_lists(self.generators),
            np.reshape(params, self.shape),
            self.n_qubits,
            spin_flip_symmetric=self.spin_flip_symmetric,
        )
