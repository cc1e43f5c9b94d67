"""Search spaces: every key checked against its model kind's schema, settings written into entries."""

from __future__ import annotations

import pytest

from qgenflow.errors import InvalidConfigError
from qgenflow.schema import with_defaults
from qgenflow.tune import apply_setting, get_dotted, normalise_search, set_dotted, trial_budget


def _search(kind: str, search: dict) -> dict:
    return normalise_search("m", {"kind": kind, "search": search})


@pytest.mark.parametrize(
    "kind, keys",
    [
        ("qcbm", ["optimizer.lr"]),
        ("qgan", ["optimizer.lr"]),
        ("rbm", ["alpha", "optimizer.lr"]),
        ("autoregressive", ["hidden", "optimizer.lr"]),
        ("product", []),
    ],
)
def test_every_kind_ships_a_default_search(kind, keys):
    """The schema's default search of each kind: learning rate (and the size) on a log scale; product has none."""
    search = normalise_search("m", with_defaults("models", {"kind": kind}))
    assert sorted(search) == keys
    for spec in search.values():
        assert spec["log"] is True and 0 < spec["low"] < spec["high"]
    if "hidden" in search:
        assert search["hidden"]["type"] == "int" and isinstance(search["hidden"]["low"], int)


def test_range_type_follows_the_setting_unless_given():
    """An integer setting gets an int range, a number a float range (even with whole bounds); choices pass."""
    search = _search("qcbm", {"layers": {"low": 1, "high": 4}, "init_scale": {"low": 1, "high": 3},
                              "optimizer.name": {"choices": ["adam", "sgd"]}})
    assert search["layers"] == {"low": 1, "high": 4, "log": False, "type": "int"}
    assert search["init_scale"]["type"] == "float" and isinstance(search["init_scale"]["low"], float)
    assert search["optimizer.name"] == {"choices": ["adam", "sgd"]}
    assert _search("rbm", {"alpha": {"low": 1, "high": 3, "type": "int"}})["alpha"]["type"] == "int"


@pytest.mark.parametrize(
    "kind, key, spec, message",
    [
        ("qcbm", "optimizer.lrr", {"low": 0.01, "high": 0.1}, "is not a setting of model kind 'qcbm'"),
        ("rbm", "layers", {"low": 1, "high": 3}, "is not a setting of model kind 'rbm'"),
        ("qcbm", "optimizer", {"low": 0.01, "high": 0.1}, "names a group of settings"),
        ("qcbm", "kind", {"choices": ["rbm"]}, "is not a setting"),
        ("qcbm", "optimizer.lr", {"low": 0.0, "high": 0.1}, "low 0.0 is not allowed"),
        ("qcbm", "optimizer.lr", {"low": 0.1, "high": 20.0}, "high 20.0 is not allowed"),
        ("qcbm", "optimizer.lr", {"low": 0.2, "high": 0.1}, "above high"),
        ("qcbm", "layers", {"low": 1, "high": 3, "type": "float"}, "the setting is an integer"),
        ("qcbm", "layers", {"low": 1.5, "high": 3}, "whole bounds"),
        ("qcbm", "init_scale", {"low": -1.0, "high": 1.0, "log": True}, "low > 0"),
        ("autoregressive", "activation", {"choices": ["tanh", "sigmoid"]}, "'sigmoid' is not allowed"),
        ("autoregressive", "activation", {"low": 1, "high": 2}, "a range needs a numeric setting"),
    ],
)
def test_a_bad_search_key_is_refused_with_its_key_named(kind, key, spec, message):
    """A key that names no numeric or choice setting, or a bound the setting refuses, fails naming models.<name>.search.<key>."""
    with pytest.raises(InvalidConfigError) as err:
        _search(kind, {key: spec})
    assert err.value.key == f"models.m.search.{key}"
    assert message in str(err.value)


def test_settings_are_written_at_their_dotted_keys_without_touching_the_entry():
    """apply_setting writes nested keys (creating missing levels) into a copy; get_dotted reads them back."""
    entry = {"kind": "qcbm", "layers": 2, "optimizer": {"lr": 0.05, "steps": 10}}
    out = apply_setting(entry, {"optimizer.lr": 0.1, "layers": 4, "loss.type": "kl"})
    assert out == {"kind": "qcbm", "layers": 4, "optimizer": {"lr": 0.1, "steps": 10}, "loss": {"type": "kl"}}
    assert entry["optimizer"]["lr"] == 0.05 and "loss" not in entry
    assert get_dotted(out, "optimizer.steps") == 10
    assert set_dotted({}, "a.b.c", 1) == {"a": {"b": {"c": 1}}}
    with pytest.raises(KeyError):
        get_dotted(out, "optimizer.lr.x")


def test_a_trial_budget_cuts_the_optimizer_steps_only():
    """steps_fraction shortens optimizer.steps (rounded, at least 1) and leaves everything else alone."""
    entry = {"kind": "rbm", "optimizer": {"lr": 0.05, "steps": 300}}
    assert trial_budget(entry, 0.25) == {"kind": "rbm", "optimizer": {"lr": 0.05, "steps": 75}}
    assert trial_budget(entry, 0.001)["optimizer"]["steps"] == 1
    assert trial_budget(entry, 1.0) == entry and entry["optimizer"]["steps"] == 300
    assert trial_budget({"kind": "product"}, 0.5) == {"kind": "product"}
