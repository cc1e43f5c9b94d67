"""Disjoint train / validation / test splits of a target's samples.

Models train on ``train`` only, model selection may use ``validation``, and every
reported metric uses ``test``. Two ways to make them:

* the target has exact probabilities: ``train`` is the target's own draw (the
  ``target`` stream) and ``validation`` and ``test`` are fresh draws of the same
  size from the ``validation`` and ``test`` streams: independent of each other and
  of training, and reproducible from the run seed;
* the target is known only through samples (data files, IQP shots, VMC): a
  shuffle of the row indices seeded by the ``split`` stream assigns
  ``validation_fraction`` and ``test_fraction`` of the rows to validation and
  test, the rest to training. A split a data set ships as its own file
  (:attr:`Target.held_out`) is taken whole instead. The row indices of each split,
  into the rows of its source, are kept so disjointness can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..bits import sample_from_probs
from ..errors import InvalidConfigError
from ..rng import make_rng
from .base import Target

__all__ = ["SPLITS", "Splits", "split_target"]

#: The splits of every target, in order; ``train`` is stored as ``/samples``.
SPLITS = ("train", "validation", "test")

#: Training rows a sample-only target must keep after holding out validation and test rows.
MIN_TRAIN_ROWS = 2


@dataclass(frozen=True)
class Splits:
    """A target's disjoint samples per split, and how they were made.

    Attributes:
        samples: ``{split: [N, n] uint8}`` for every split of :data:`SPLITS`.
        rows: ``{split: row indices into its source}`` for row splits (empty for independent draws).
        attrs: root attributes recording sizes (``n_train``, ...), the method and its sources.
    """

    samples: dict[str, np.ndarray]
    rows: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


def split_target(target: Target, spec: Mapping[str, Any], seed: int) -> Splits:
    """The train / validation / test splits of ``target`` under run ``seed``.

    Args:
        target: the target as made (its ``samples`` are the training draw, or all rows).
        spec: the completed target entry (``validation_fraction``, ``test_fraction``, and
            for files ``path`` and the optional ``validation_path`` / ``test_path``).
        seed: the run seed.

    Raises:
        InvalidConfigError: too few rows are left for training.
    """
    if target.probs is not None:
        splits = _independent_draws(target, seed)
    else:
        splits = _row_splits(target, spec, seed)
    sizes = {f"n_{split}": int(len(splits.samples[split])) for split in SPLITS}
    return Splits(splits.samples, splits.rows, {**sizes, **splits.attrs})


def _independent_draws(target: Target, seed: int) -> Splits:
    train = np.asarray(target.samples, dtype=np.uint8)
    samples = {"train": train}
    for split in ("validation", "test"):
        samples[split] = sample_from_probs(target.probs, len(train), make_rng(seed, split))
    attrs = {
        "split_method": "independent_draws",
        "split_streams": "train: target, validation: validation, test: test",
    }
    return Splits(samples, {}, attrs)


def _row_splits(target: Target, spec: Mapping[str, Any], seed: int) -> Splits:
    data = np.asarray(target.samples, dtype=np.uint8)
    n_rows = len(data)
    cut = {
        split: 0 if split in target.held_out else int(round(float(spec[f"{split}_fraction"]) * n_rows))
        for split in ("validation", "test")
    }
    if n_rows - cut["validation"] - cut["test"] < MIN_TRAIN_ROWS:
        raise InvalidConfigError(
            "n_samples",
            f"{n_rows} rows leave fewer than {MIN_TRAIN_ROWS} for training after holding out "
            f"{cut['validation']} for validation and {cut['test']} for test; give more samples or lower "
            "validation_fraction / test_fraction",
        )
    order = make_rng(seed, "split").permutation(n_rows)
    rows = {
        "test": np.sort(order[: cut["test"]]),
        "validation": np.sort(order[cut["test"] : cut["test"] + cut["validation"]]),
        "train": np.sort(order[cut["test"] + cut["validation"] :]),
    }
    samples = {split: data[rows[split]] for split in SPLITS}
    source = str(spec["path"]) if spec.get("kind") == "file" else "generated samples"
    sources = dict.fromkeys(SPLITS, source)
    for split, held in target.held_out.items():
        samples[split] = np.asarray(held, dtype=np.uint8)
        rows[split] = np.arange(len(held))
        sources[split] = str(spec[f"{split}_path"])
    attrs: dict[str, Any] = {
        "split_method": "row_shuffle",
        "split_stream": "split",
        "validation_fraction": 0.0 if "validation" in target.held_out else float(spec["validation_fraction"]),
        "test_fraction": 0.0 if "test" in target.held_out else float(spec["test_fraction"]),
    }
    attrs.update({f"split_source_{split}": sources[split] for split in SPLITS})
    return Splits(samples, rows, attrs)
