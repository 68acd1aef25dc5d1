"""The twins compute the same thing: same weights, same outputs, same accuracy."""

import ast
from pathlib import Path

import numpy as np
import pytest

import reclearn
from reclearn import metrics, split
from reclearn.configs import MFConfig
from reclearn.models.tf import mf as tf_mf
from reclearn.models.tf import recommender as tf_recommender
from reclearn.models.torch import mf as torch_mf
from reclearn.models.torch import recommender as torch_recommender

MODELS = Path(reclearn.__file__).parent / "models"


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def twins(frames):
    options = {"num_factors": 5, "epochs": 1, "batch_size": 128, "verbose": False}
    torch_model = reclearn.build("mf", "torch", **options).fit(frames[0])
    tf_model = reclearn.build("mf", "tf", **options).fit(frames[0])
    return torch_model, tf_model


def test_the_twins_have_the_same_weight_names_and_shapes(twins):
    torch_weights, tf_weights = (m.get_weights() for m in twins)
    assert (
        list(torch_weights)
        == list(tf_weights)
        == [
            "user_embedding.embeddings",
            "item_embedding.embeddings",
            "user_bias.embeddings",
            "item_bias.embeddings",
        ]
    )
    assert {k: v.shape for k, v in torch_weights.items()} == {
        k: v.shape for k, v in tf_weights.items()
    }
    assert torch_weights["user_embedding.embeddings"].shape == (60, 5)
    assert torch_weights["item_bias.embeddings"].shape == (50, 1)
    assert all(v.dtype == np.float32 for v in [*torch_weights.values(), *tf_weights.values()])


def test_one_epoch_from_the_same_seed_gives_nearly_the_same_weights(twins):
    torch_weights, tf_weights = (m.get_weights() for m in twins)
    for name in torch_weights:
        np.testing.assert_allclose(tf_weights[name], torch_weights[name], rtol=0, atol=1e-4)


def test_the_twins_agree_given_the_same_weights(twins, frames):
    torch_model, tf_model = twins
    test = frames[1]
    tf_model.set_weights(torch_model.get_weights())
    for name, value in torch_model.get_weights().items():
        np.testing.assert_array_equal(tf_model.get_weights()[name], value)
    np.testing.assert_allclose(tf_model.predict(test), torch_model.predict(test), rtol=0, atol=1e-5)
    users = ["u0", "u1", "u17", "nobody"]
    torch_top = torch_model.recommend(users, k=10)
    tf_top = tf_model.recommend(users, k=10)
    np.testing.assert_allclose(tf_top.score, torch_top.score, rtol=0, atol=1e-5)
    assert list(tf_top.user_id) == list(torch_top.user_id)
    # items may swap only where their scores tie to within float32 round-off
    swapped = tf_top.item_id.to_numpy() != torch_top.item_id.to_numpy()
    assert np.diff(torch_top.score)[swapped[1:] | swapped[:-1]].__abs__().max(initial=0) < 1e-5


def test_the_twins_start_from_identical_weights_for_the_same_seed():
    config = MFConfig(num_factors=6, init_std=0.1)
    torch_net = torch_mf.MF(40, 30, config, 3.5, np.random.default_rng(0))
    tf_net = tf_mf.MF(40, 30, config, 3.5, np.random.default_rng(0))
    torch_weights = torch_recommender.network_arrays(torch_net)
    tf_weights = tf_recommender.network_arrays(tf_net)
    assert list(torch_weights) == list(tf_weights)
    for name, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[name], value)
    assert torch_weights["user_embedding.embeddings"].std() == pytest.approx(0.1, rel=0.15)
    assert not torch_weights["user_bias.embeddings"].any()
    other = torch_recommender.network_arrays(
        torch_mf.MF(40, 30, config, 3.5, np.random.default_rng(1))
    )
    assert not np.array_equal(
        other["user_embedding.embeddings"], torch_weights["user_embedding.embeddings"]
    )


def test_the_twin_networks_compute_the_same_objective_and_scores():
    import tensorflow as tf
    import torch

    config = MFConfig(num_factors=3, l2=0.1)
    torch_net = torch_mf.MF(8, 6, config, 3.0, np.random.default_rng(0))
    tf_net = tf_mf.MF(8, 6, config, 3.0, np.random.default_rng(0))
    users = np.array([0, 3, 7, 7])
    items = np.array([5, 0, 2, 5])
    ratings = np.array([4.0, 2.5, 3.0, 1.0], np.float32)
    torch_loss = torch_net.objective(
        torch.as_tensor(users), torch.as_tensor(items), torch.as_tensor(ratings)
    )
    tf_loss = tf_net.objective(tf.constant(users), tf.constant(items), tf.constant(ratings))
    assert float(tf_loss) == pytest.approx(torch_loss.item(), abs=1e-6)
    np.testing.assert_allclose(
        tf_net.score_all(tf.constant(users)).numpy(),
        torch_net.score_all(torch.as_tensor(users)).detach().numpy(),
        rtol=0, atol=1e-6,
    )  # fmt: skip


# The config of the accuracy check: dense enough and regularised enough that MF gets
# within 10% of the noise floor in about a dozen epochs (about 1 s per backend).
ACCURACY_DATA = {"num_users": 500, "num_items": 400, "density": 0.3, "seed": 0}
ACCURACY_OPTIONS = {
    "num_factors": 4,  # the planted rank
    "l2": 0.01,
    "learning_rate": 0.02,
    "batch_size": 1024,
    "epochs": 40,
    "validation_fraction": 0.1,
    "patience": 3,
    "verbose": False,
}


def test_the_twins_reach_the_same_accuracy_near_the_noise_floor():
    dataset = reclearn.make_synthetic(**ACCURACY_DATA)
    train, test = split.random_split(dataset.ratings, test_fraction=0.2, seed=0)
    scores = {}
    for backend in ("torch", "tf"):
        model = reclearn.build("mf", backend, **ACCURACY_OPTIONS).fit(train)
        assert len(model.history) < ACCURACY_OPTIONS["epochs"]  # early stopping did its job
        scores[backend] = metrics.rmse(model.predict(test), test.rating)
    floor = dataset.truth.noise_sigma
    assert scores["tf"] == pytest.approx(scores["torch"], rel=0.02)
    for backend, score in scores.items():
        assert floor <= score <= 1.10 * floor, (backend, score, floor)


def _methods(path: Path, class_name: str) -> list[str]:
    tree = ast.parse(path.read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    return [n.name for n in cls.body if isinstance(n, ast.FunctionDef)]


def _top_level(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def test_the_twin_mf_files_define_the_same_methods_in_the_same_order():
    torch_methods = _methods(MODELS / "torch" / "mf.py", "MF")
    tf_methods = _methods(MODELS / "tf" / "mf.py", "MF")
    assert ["call" if m == "forward" else m for m in torch_methods] == tf_methods
    assert torch_methods == ["__init__", "embed", "forward", "penalty", "objective", "score_all"]


def test_the_twin_mf_methods_have_the_same_docstrings():
    def docs(path):
        tree = ast.parse(path.read_text())
        (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MF"]
        return [cls.name, ast.get_docstring(cls)] + [
            ast.get_docstring(n) for n in cls.body if isinstance(n, ast.FunctionDef)
        ]

    assert docs(MODELS / "torch" / "mf.py") == docs(MODELS / "tf" / "mf.py")


def test_the_twin_recommender_files_define_the_same_functions_and_classes_in_order():
    torch_names = _top_level(MODELS / "torch" / "recommender.py")
    tf_names = _top_level(MODELS / "tf" / "recommender.py")
    rename = {"TorchRecommender": "TFRecommender"}
    expected = [rename.get(n, n) for n in torch_names]
    # the TF twin may add private framework helpers, but keeps every twin name in order
    shared = [n for n in tf_names if n in expected]
    assert shared == expected
    for torch_class, tf_class in [("TorchRecommender", "TFRecommender"), ("MFRecommender",) * 2]:
        assert _methods(MODELS / "torch" / "recommender.py", torch_class) == _methods(
            MODELS / "tf" / "recommender.py", tf_class
        )
