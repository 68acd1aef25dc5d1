"""The twins compute the same thing: same names and docstrings, same outputs given the
same weights, nearly the same weights from the same seed.

The module pairs are every file found in both ``models/torch`` and ``models/tf``; the
models are every entry of ``DEEP_MODELS``: adding either puts it under every test here.
"""

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import reclearn
from reclearn import metrics, split
from reclearn.configs import MFConfig
from reclearn.registry import CONTENT_MODELS, DEEP_MODELS, FEATURE_MODELS

MODELS = Path(reclearn.__file__).parent / "models"
MODULES = sorted(path.name for path in (MODELS / "torch").glob("*.py"))
FRAMEWORK = re.compile(r"\b(PyTorch|TensorFlow|torch|tf|Keras)\b")
# torch name: tf name
RENAMED = {"forward": "call", "TorchRecommender": "TFRecommender"}
# What only TF needs, by module: Keras names a layer when it is built (torch names it
# after the attribute).
TF_ONLY_ARGUMENTS = {
    "layers.py": {"embedding": ["name"], "dense": ["name"], "layer_norm": ["name"]},
    "autoencoder.py": {"frozen_table": ["name"]},
}
TF_ONLY_NAMES = {}
# Methods a framework's optimiser protocol dictates: PyTorch's loop calls zero_grad and
# step, Keras calls update_step; the maths they share is sparse_update_step.
OWN_METHODS = {"Adam": {"__init__", "zero_grad", "step", "update_step"}}
# Docstrings that describe where each framework puts its tensors.
DEVICE_DOCSTRINGS = {
    "recommender.py": [
        "resolve_device",
        "fit_network",
        "TFRecommender",
        "TwoTowerRecommender",
    ],
}


def _arguments(function: ast.FunctionDef) -> list[str]:
    args = function.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


def _docstring(node) -> str:
    """The docstring with framework names blanked and whitespace collapsed."""
    return " ".join(FRAMEWORK.sub("<framework>", ast.get_docstring(node) or "").split())


def _public(module: str, backend: str) -> dict[str, ast.AST]:
    """Public top-level classes and functions of a twin, in order, under tf names."""
    tree = ast.parse((MODELS / backend / module).read_text())
    nodes = [n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef)]
    skip = TF_ONLY_NAMES.get(module, []) if backend == "tf" else []
    return {
        RENAMED.get(n.name, n.name): n
        for n in nodes
        if not n.name.startswith("_") and n.name not in skip
    }


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    own = OWN_METHODS.get(cls.name, set())
    methods = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name not in own]
    return {RENAMED.get(n.name, n.name): n for n in methods}


def test_every_module_has_a_twin():
    assert MODULES == sorted(path.name for path in (MODELS / "tf").glob("*.py"))
    assert {"recommender.py", "attribution.py", "content.py", "mf.py"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_the_twins_define_the_same_public_names_in_the_same_order(module):
    assert list(_public(module, "torch")) == list(_public(module, "tf"))


@pytest.mark.parametrize("module", MODULES)
def test_the_twin_classes_define_the_same_methods_in_the_same_order(module):
    torch_side, tf_side = _public(module, "torch"), _public(module, "tf")
    for name, node in torch_side.items():
        if isinstance(node, ast.ClassDef):
            assert list(_methods(node)) == list(_methods(tf_side[name])), name


@pytest.mark.parametrize("module", MODULES)
def test_the_twins_take_the_same_arguments(module):
    torch_side, tf_side = _public(module, "torch"), _public(module, "tf")
    extra = TF_ONLY_ARGUMENTS.get(module, {})
    for name, node in torch_side.items():
        if isinstance(node, ast.FunctionDef):
            tf_arguments = _arguments(tf_side[name])
            only_tf = extra.get(name, [])
            assert set(only_tf) <= set(tf_arguments), name
            assert [a for a in tf_arguments if a not in only_tf] == _arguments(node), name
            continue
        tf_methods = _methods(tf_side[name])
        for method, function in _methods(node).items():
            where = f"{name}.{method}"
            assert _arguments(tf_methods[method]) == _arguments(function), where


@pytest.mark.parametrize("module", MODULES)
def test_the_twins_have_the_same_docstrings_but_for_the_framework_names(module):
    torch_side, tf_side = _public(module, "torch"), _public(module, "tf")
    device_specific = DEVICE_DOCSTRINGS.get(module, [])
    for name, node in torch_side.items():
        if name not in device_specific:
            assert _docstring(node) == _docstring(tf_side[name]), name
        if isinstance(node, ast.ClassDef):
            tf_methods = _methods(tf_side[name])
            for method, function in _methods(node).items():
                where = f"{name}.{method}"
                assert _docstring(function) == _docstring(tf_methods[method]), where


# --- every deep model: copy weights torch -> tf and compare ---------------------

TOWERS = {"num_factors": 4, "token_dim": 4, "num_filters": 5, "max_tokens": 6}
TOWERS |= {"min_count": 1}
SIZES = {  # small networks; a model missing here trains with its defaults
    "mf": {"num_factors": 5},
    "neuralcf": {"num_factors": 4, "hidden": (6, 3)},
    "gmf": {"num_factors": 4, "l2": 1e-3},
    "mlp": {"hidden": (8, 4), "l2": 1e-3},
    "neumf": {"num_factors": 3, "hidden": (8, 4), "l2": 1e-3},
    "bpr-mf": {"num_factors": 4, "num_negatives": 2, "l2": 1e-3},
    "gru4rec": {"num_factors": 4, "max_len": 5, "dropout": 0.0},
    "sasrec": {"num_factors": 4, "max_len": 5, "dropout": 0.0},
    "autorec": {"num_hidden": 6},
    "mult-dae": {"hidden": (8, 4), "dropout": 0.0},
    "mult-vae": {"hidden": (8, 4), "dropout": 0.0},
    "fm": {"num_factors": 4},
    "deepfm": {"num_factors": 4, "hidden": (6, 3)},
    "fm-rank": {"num_factors": 4},
    "deepfm-rank": {"num_factors": 4, "hidden": (6, 3)},
} | {name: TOWERS for name in CONTENT_MODELS if name in DEEP_MODELS}
TRAINING = {"epochs": 1, "batch_size": 128, "learning_rate": 0.01, "verbose": False}
# One epoch from the same seed: float32 round-off grows through the text encoders.
TRAINED_ATOL = {name: 1e-3 for name in CONTENT_MODELS}
# Training draws from each framework's own generator (Mult-VAE's z): only the scores
# given the same weights can agree.
RANDOM_TRAINING = {"mult-vae"}


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module", params=list(DEEP_MODELS))
def twins(request, frames, small_content):
    """A model fitted for one epoch in each backend from the same seed."""
    name = request.param
    options = {**TRAINING, **SIZES.get(name, {})}
    if name in CONTENT_MODELS or name in FEATURE_MODELS:  # FMs: with genres and years
        options["content"] = small_content
    models = (reclearn.build(name, backend, **options) for backend in ("torch", "tf"))
    return tuple(model.fit(frames[0]) for model in models)


def test_the_twins_have_the_same_weight_names_shapes_and_dtypes(twins):
    torch_weights, tf_weights = (model.get_weights() for model in twins)
    assert sorted(torch_weights) == sorted(tf_weights)  # Keras lists nested layers last
    for key, value in torch_weights.items():
        assert value.shape == tf_weights[key].shape, key
        assert value.dtype == tf_weights[key].dtype == np.float32, key


def test_one_epoch_from_the_same_seed_gives_nearly_the_same_weights(twins):
    torch_model, tf_model = twins
    if torch_model.name in RANDOM_TRAINING:
        pytest.skip(f"{torch_model.name} draws training noise from each framework")
    torch_losses, tf_losses = ([h["loss"] for h in m.history] for m in twins)
    np.testing.assert_allclose(tf_losses, torch_losses, rtol=1e-4)
    atol = TRAINED_ATOL.get(torch_model.name, 1e-4)
    tf_weights = tf_model.get_weights()
    for key, value in torch_model.get_weights().items():
        close = np.abs(tf_weights[key] - value) <= atol
        assert close.all(), key


def test_the_twins_agree_given_the_same_weights(twins, frames):
    torch_model, tf_model = twins
    tf_model.set_weights(torch_model.get_weights())
    for key, value in torch_model.get_weights().items():
        np.testing.assert_array_equal(tf_model.get_weights()[key], value)
    users, items = torch_model.index.encode(frames[1])
    known = (users >= 0) & (items >= 0)
    users, items = users[known], items[known]
    torch_pairs, tf_pairs = (m.score_pairs(users, items) for m in twins)
    np.testing.assert_allclose(tf_pairs, torch_pairs, rtol=0, atol=1e-5)
    everyone = np.arange(len(torch_model.index.user_ids))
    torch_all, tf_all = (m.score_users(everyone) for m in twins)
    np.testing.assert_allclose(tf_all, torch_all, rtol=0, atol=1e-5)
    torch_predicted, tf_predicted = (m.predict(frames[1]) for m in twins)
    np.testing.assert_allclose(tf_predicted, torch_predicted, rtol=0, atol=1e-5)


def test_the_twins_recommend_the_same_items_given_the_same_weights(twins):
    torch_model, tf_model = twins
    tf_model.set_weights(torch_model.get_weights())
    users = ["u0", "u1", "u17", "nobody"]
    torch_top, tf_top = (model.recommend(users, k=10) for model in twins)
    np.testing.assert_allclose(tf_top.score, torch_top.score, rtol=0, atol=1e-5)
    assert list(tf_top.user_id) == list(torch_top.user_id)
    # items may swap only where their scores tie to within float32 round-off
    swapped = tf_top.item_id.to_numpy() != torch_top.item_id.to_numpy()
    gaps = np.abs(np.diff(torch_top.score))[swapped[1:] | swapped[:-1]]
    assert gaps.max(initial=0) < 1e-5


# --- MF, the pair the book shows first: networks, objective and accuracy --------


def _mf_networks(config, num_users, num_items, mu, seed=0):
    from reclearn.models.tf import mf as tf_mf
    from reclearn.models.torch import mf as torch_mf

    rngs = (np.random.default_rng(seed) for _ in range(2))
    return tuple(
        module.MF(num_users, num_items, config, mu, rng)
        for module, rng in zip((torch_mf, tf_mf), rngs, strict=True)
    )


def _arrays(network):
    from reclearn.models.tf import recommender as tf_recommender
    from reclearn.models.torch import recommender as torch_recommender

    module = torch_recommender if hasattr(network, "parameters") else tf_recommender
    return module.network_arrays(network)


def test_the_mf_twins_start_from_identical_weights_for_the_same_seed():
    config = MFConfig(num_factors=6, init_std=0.1)
    torch_weights, tf_weights = (_arrays(n) for n in _mf_networks(config, 40, 30, 3.5))
    assert list(torch_weights) == list(tf_weights)
    for key, value in torch_weights.items():
        np.testing.assert_array_equal(tf_weights[key], value)
    first = "user_embedding.embeddings"
    assert torch_weights[first].std() == pytest.approx(0.1, rel=0.15)
    assert not torch_weights["user_bias.embeddings"].any()
    other = _arrays(_mf_networks(config, 40, 30, 3.5, seed=1)[0])
    assert not np.array_equal(other[first], torch_weights[first])


def test_the_mf_twin_networks_compute_the_same_objective_and_scores():
    import tensorflow as tf
    import torch

    torch_net, tf_net = _mf_networks(MFConfig(num_factors=3, l2=0.1), 8, 6, 3.0)
    users = np.array([0, 3, 7, 7])
    items = np.array([5, 0, 2, 5])
    ratings = np.array([4.0, 2.5, 3.0, 1.0], np.float32)
    batch = (users, items, ratings)
    torch_loss = torch_net.objective(*(torch.as_tensor(a) for a in batch))
    tf_loss = tf_net.objective(*(tf.constant(a) for a in batch))
    assert float(tf_loss) == pytest.approx(torch_loss.item(), abs=1e-6)
    torch_scores = torch_net.score_all(torch.as_tensor(users)).detach().numpy()
    tf_scores = tf_net.score_all(tf.constant(users)).numpy()
    np.testing.assert_allclose(tf_scores, torch_scores, rtol=0, atol=1e-6)


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


def test_the_mf_twins_reach_the_same_accuracy_near_the_noise_floor():
    dataset = reclearn.make_synthetic(**ACCURACY_DATA)
    train, test = split.random_split(dataset.ratings, test_fraction=0.2, seed=0)
    scores = {}
    for backend in ("torch", "tf"):
        model = reclearn.build("mf", backend, **ACCURACY_OPTIONS).fit(train)
        # early stopping did its job
        assert len(model.history) < ACCURACY_OPTIONS["epochs"]
        scores[backend] = metrics.rmse(model.predict(test), test.rating)
    floor = dataset.truth.noise_sigma
    assert scores["tf"] == pytest.approx(scores["torch"], rel=0.02)
    for backend, score in scores.items():
        assert floor <= score <= 1.10 * floor, (backend, score, floor)
