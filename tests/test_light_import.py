"""Importing reclearn, loading data and splitting never load a deep-learning framework."""

import json
import subprocess
import sys

HEAVY = ["torch", "tensorflow", "keras", "surprise", "implicit", "optuna"]

SCRIPT = f"""
import json, sys
import reclearn
import reclearn.tune, reclearn.search_spaces, reclearn.cli
reclearn.cli.make_parser()
dataset = reclearn.load_dataset("ml-latest-small")
train, test = reclearn.split.random_split(dataset.ratings)
list(reclearn.split.kfold(train, n_splits=2))
reclearn.metrics.rmse([1.0], [2.0])
reclearn.make_synthetic(num_users=10, num_items=10)
reclearn.available_models()
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def test_import_load_and_split_leave_the_frameworks_unloaded():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_building_a_model_imports_only_its_framework():
    script = (
        "import json, sys, reclearn; reclearn.build('mf', 'torch'); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["torch"]
