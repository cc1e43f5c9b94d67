"""Size limits: what each simulation method can hold, written once.

Core layer: imported by the plan (pre-flight checks) and by the code that
simulates, so a limit checked before any job is the limit the job obeys.
"""

from __future__ import annotations

__all__ = ["MAX_DENSE_QUBITS", "MAX_EXACT_QUBITS", "MAX_IQP_SHOT_QUBITS", "QGAN_CLASSICAL_MAX_QUBITS", "QGAN_QUANTUM_DATA_MAX_QUBITS"]

#: Largest statevector (and dense probability vector) any stage builds: 2^24 amplitudes.
MAX_EXACT_QUBITS = 24
#: Largest dense probability vector kept beside samples: model.h5 /probs of baselines and the IQP estimator,
#: dense MMD kernels, exact metrics and figure tables.
MAX_DENSE_QUBITS = 20
#: Largest IQP circuit sampled with shots on lightning (the shots method of IQP targets); peak memory
#: measured 3.3 GiB at 26 qubits, x4 per 2 more (~13 GiB at 28).
MAX_IQP_SHOT_QUBITS = 28
#: A classical discriminator is evaluated on all 2^n bitstrings.
QGAN_CLASSICAL_MAX_QUBITS = 16
#: A quantum discriminator reads the target state itself.
QGAN_QUANTUM_DATA_MAX_QUBITS = 12
