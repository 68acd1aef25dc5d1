"""Saved models are plain .npz files holding config, index and weights.

That every deep model loads back to identical predictions and recommendations is part of
the contract (tests/test_recommender_contract.py).
"""

import json

import numpy as np
import pytest

import reclearn
from reclearn import split
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
    assert meta["format"] == 1
    assert meta["model"] == "MFRecommender"
    assert meta["backend"] == backend
    assert meta["config"]["num_factors"] == 4


@pytest.mark.parametrize("wrong_class", [TorchRecommender, TFRecommender])
def test_loading_a_file_into_the_wrong_class_raises_a_value_error(saved, wrong_class):
    _, _, path = saved
    with pytest.raises(ValueError, match="holds a MFRecommender, not a (Torch|TF)Recommender"):
        wrong_class.load(path)


def test_saving_an_unfitted_model_raises_a_runtime_error(tmp_path):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        reclearn.build("mf").save(tmp_path / "mf.npz")
    assert list(tmp_path.iterdir()) == []
