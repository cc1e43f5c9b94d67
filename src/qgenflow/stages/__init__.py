"""Stages: the only code that reads and writes artefacts.

Each workflow script calls exactly one stage function (:func:`.target.run_target`,
:func:`.train.run_training`, ...); the science below them (targets, models,
training, metrics, plots) works on in-memory data. Submodules are imported by
the script that needs them, so a target job does not load the training stack.
"""
