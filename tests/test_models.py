"""Each model knob is declared once, as a `ModelConfig` field: the knob tables follow from it."""

from __future__ import annotations

from dataclasses import fields

from automl_bench._model.config import KNOBS, TRAINING_KNOBS, TRANSFER_KNOBS, TRUNK_KNOBS, ModelConfig, build_config

NOT_KNOBS = {"family", "published", "input_size"}  # set by the host, never by a suite


def test_every_config_field_is_a_knob_of_some_family_and_every_knob_a_field():
    declared = {f.name for f in fields(ModelConfig)} - NOT_KNOBS
    tabled = {k.name for knobs in KNOBS.values() for k in knobs}
    assert declared == tabled


def test_a_knob_has_its_fields_type_and_default_unless_its_family_says_otherwise():
    defaults = {f.name: f.default for f in fields(ModelConfig)}
    for family, knobs in KNOBS.items():
        config = build_config(family, {})
        for k in knobs:
            assert getattr(config, k.name) == k.default, (family, k.name)
            assert isinstance(k.default, k.kind)
            if (family, k.name) != ("rnn", "units"):  # the one per-family default: 64 units per rnn layer
                assert k.default == defaults[k.name], (family, k.name)


def test_training_knobs_are_every_familys_and_transfer_knobs_only_the_transferable_ones():
    for family, knobs in KNOBS.items():
        names = {k.name for k in knobs}
        assert {k.name for k in TRAINING_KNOBS} <= names
        assert ({k.name for k in TRANSFER_KNOBS} <= names) == (family in TRUNK_KNOBS)
