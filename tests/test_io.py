"""Saved models are plain .npz files holding config, index and weights.

That every deep model loads back to identical predictions and recommendations is part of
the contract (tests/test_recommender_contract.py).
"""

import json

import numpy as np
import pytest

import reclearn
from reclearn import io, split
from reclearn.io import ModelFileError
from reclearn.models.tf.recommender import MFRecommender as TFMF
from reclearn.models.tf.recommender import TFRecommender
from reclearn.models.torch.recommender import MFRecommender as TorchMF
from reclearn.models.torch.recommender import TorchRecommender

CLASSES = {"torch": TorchMF, "tf": TFMF}


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module", params=["torch", "tf"])
def saved(request, frames, tmp_path_factory):
    backend = request.param
    model = reclearn.build("mf", backend, num_factors=4, epochs=2, verbose=False)
    model.fit(frames[0])
    path = tmp_path_factory.mktemp(backend) / "mf.npz"
    model.save(path)
    return backend, model, path


def test_a_loaded_model_keeps_its_scale_index_and_weights(saved):
    backend, model, path = saved
    loaded = CLASSES[backend].load(path)
    assert loaded.backend == backend
    assert loaded.rating_scale == model.rating_scale
    assert loaded.global_mean == model.global_mean
    assert loaded.index.user_ids.equals(model.index.user_ids)
    assert loaded.index.item_ids.equals(model.index.item_ids)
    for name, value in model.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[name], value)


def test_the_file_is_a_plain_npz_without_pickles(saved):
    backend, _, path = saved
    assert not path.with_name(path.name + ".part").exists()
    with np.load(path, allow_pickle=False) as npz:
        assert "weight/user_embedding.embeddings" in npz.files
        assert all(npz[name].dtype != object for name in npz.files)
        meta = json.loads(str(npz["meta"]))
    assert meta["format"] == io.FORMAT_VERSION == 2
    assert meta["model"] == "MFRecommender"
    assert meta["backend"] == backend
    assert meta["config"]["num_factors"] == 4


@pytest.mark.parametrize("wrong_class", [TorchRecommender, TFRecommender])
def test_loading_a_file_into_the_wrong_class_raises_a_model_file_error(saved, wrong_class):
    _, _, path = saved
    with pytest.raises(ModelFileError, match="holds a MFRecommender, not a (Torch|TF)"):
        wrong_class.load(path)


def test_a_truncated_file_raises_a_model_file_error_without_pickle_advice(saved, tmp_path):
    backend, _, path = saved
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable reclearn model file") as error:
        CLASSES[backend].load(cut)
    assert "allow_pickle" not in str(error.value)


def test_a_foreign_file_raises_a_model_file_error(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ModelFileError, match="not a readable reclearn model file"):
        TorchMF.load(foreign)
    with pytest.raises(ModelFileError, match="no model file at"):
        TorchMF.load(tmp_path / "missing.npz")


def _rewrite(path, target, change) -> None:
    """Copy the model file at ``path`` to ``target`` with ``change(meta, arrays)``."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(meta, arrays)
    np.savez(target, meta=np.array(json.dumps(meta)), **arrays)


def test_a_file_of_another_format_version_is_refused(saved, tmp_path):
    backend, _, path = saved
    old = tmp_path / "old.npz"
    _rewrite(path, old, lambda meta, arrays: meta.update(format=1))
    with pytest.raises(ModelFileError, match="format 1; this reclearn reads format 2"):
        CLASSES[backend].load(old)


def test_a_tampered_file_is_refused(saved, tmp_path):
    backend, _, path = saved
    tampered = tmp_path / "tampered.npz"
    _rewrite(path, tampered, lambda meta, arrays: arrays.pop("state/seen_counts"))
    with pytest.raises(ModelFileError, match="does not match a MFRecommender"):
        CLASSES[backend].load(tampered)
    _rewrite(path, tampered, lambda meta, arrays: arrays.pop("weight/item_bias.embeddings"))
    with pytest.raises(ModelFileError, match="does not match a MFRecommender"):
        CLASSES[backend].load(tampered)


def test_saving_an_unfitted_model_raises_a_runtime_error(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        reclearn.build("mf").save(tmp_path / "mf.npz")
    assert list(tmp_path.iterdir()) == []
