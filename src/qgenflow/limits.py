"""Size limits: what each simulation method can hold, written once.

Core layer: imported by the plan (pre-flight checks) and by the code that
simulates, so a limit checked before any job is the limit the job obeys.
"""

from __future__ import annotations

__all__ = ["MAX_EXACT_QUBITS", "MAX_STORED_PROBS_QUBITS", "QGAN_CLASSICAL_MAX_QUBITS", "QGAN_QUANTUM_DATA_MAX_QUBITS"]

#: Largest statevector (and dense probability vector) any stage builds: 2^24 amplitudes.
MAX_EXACT_QUBITS = 24
#: Largest model whose exact probability vector is stored in model.h5 (classical baselines, IQP estimator).
MAX_STORED_PROBS_QUBITS = 20
#: A classical discriminator is evaluated on all 2^n bitstrings.
QGAN_CLASSICAL_MAX_QUBITS = 16
#: A quantum discriminator reads the target state itself.
QGAN_QUANTUM_DATA_MAX_QUBITS = 12
