"""Size limits: what each simulation method can hold, written once.

Core layer: imported by the plan (pre-flight checks) and by the code that
simulates, so a limit checked before any job is the limit the job obeys.
"""

from __future__ import annotations

__all__ = [
    "MAX_DENSE_QUBITS",
    "MAX_EXACT_QUBITS",
    "MAX_IQP_SHOT_QUBITS",
    "MAX_NUMBA_QUBITS",
    "NUMBA_STEP_BYTES_PER_AMPLITUDE",
    "QGAN_CLASSICAL_MAX_QUBITS",
    "QGAN_QUANTUM_DATA_MAX_QUBITS",
]

#: Largest statevector (and dense probability vector) any stage builds: 2^24 amplitudes.
MAX_EXACT_QUBITS = 24
#: Largest statevector the numba engine (qgenflow.circuits.numba) takes a training step on. One exact MMD step
#: holds psi and the adjoint vector (16 B per amplitude each), dL/dp, the model's and the target's probabilities
#: (8 B each): peak RSS measured 3.9 GiB at 26 qubits (~57 B per amplitude, 2 cores: 40 s CPU per 2-layer step),
#: so ~15 GiB at 28. Only the memory request uses it so far: the config checks still stop QCBMs at MAX_EXACT_QUBITS.
MAX_NUMBA_QUBITS = 28
#: Memory a numba training step asks for per amplitude (the measured 57 B, with a margin).
NUMBA_STEP_BYTES_PER_AMPLITUDE = 64
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
