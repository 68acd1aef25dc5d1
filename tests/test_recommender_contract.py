"""Every registered model, in every backend it has, honours the Recommender contract.

The models come from ``available_models()``: registering a model puts it under every
test here. Deep models run in both backends; the others ignore the backend. Training
stays tiny (60 users, 50 items, 3 epochs) and each model is fitted once per module.
"""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.registry import BACKENDS, CONTENT_MODELS, DEEP_MODELS, SURPRISE_MODELS


def _specs() -> list[tuple[str, str | None]]:
    """(name, backend) of every model; backend None for models without backends."""
    return [
        (name, backend)
        for name in reclearn.available_models()
        for backend in (BACKENDS if name in DEEP_MODELS else (None,))
    ]


def spec_id(spec) -> str:
    name, backend = spec
    return f"{name}-{backend}" if backend else name


SPECS = _specs()
SLOW_MODELS = ("spark-als",)  # starts a Spark session (~8 s), once per module


def marked(specs: list) -> list:
    """``specs`` as pytest parameters, those of ``SLOW_MODELS`` marked slow and kept in
    one pytest-xdist worker (one Spark session)."""
    marks = [pytest.mark.slow, pytest.mark.xdist_group("spark")]
    return [pytest.param(s, marks=marks) if s[0] in SLOW_MODELS else s for s in specs]


DEEP = [spec for spec in SPECS if spec[1]]
# NormalPredictor draws a fresh random rating for every prediction.
DETERMINISTIC = [spec for spec in SPECS if spec[0] != "surprise-normal"]
TRAINING = {"epochs": 3, "batch_size": 256, "verbose": False}
SIZES = {  # small networks; a model missing here trains with its defaults
    "mf": {"num_factors": 4},
    "neuralcf": {"num_factors": 4, "hidden": (6, 3)},
    "gmf": {"num_factors": 4},
    "mlp": {"hidden": (8, 4)},
    "neumf": {"num_factors": 3, "hidden": (8, 4)},
    "bpr-mf": {"num_factors": 4},
    "gru4rec": {"num_factors": 4, "max_len": 5},
    "sasrec": {"num_factors": 4, "max_len": 5, "num_blocks": 1},
    "autorec": {"num_hidden": 6},
    "mult-dae": {"hidden": (8, 4), "batch_size": 16, "learning_rate": 0.01},
    "mult-vae": {"hidden": (8, 4), "batch_size": 16, "learning_rate": 0.01},
    "fm": {"num_factors": 4},
    "deepfm": {"num_factors": 4, "hidden": (6, 3)},
    "fm-rank": {"num_factors": 4},
    "deepfm-rank": {"num_factors": 4, "hidden": (6, 3)},
}
TOWERS = {"num_factors": 4, "token_dim": 4, "num_filters": 5, "max_tokens": 6}
TOWERS |= {"min_count": 1}
SIZES |= {name: TOWERS for name in CONTENT_MODELS if name in DEEP_MODELS}


def build(spec, content=None):
    """The model of ``spec``, unfitted, with tiny options (and content if it reads)."""
    name, backend = spec
    options = {**TRAINING, **SIZES.get(name, {})} if backend else {}
    if name in CONTENT_MODELS:
        options["content"] = content
    return reclearn.build(name, backend or "torch", **options)


@pytest.fixture(scope="module")
def frames(small):
    return split.random_split(small.ratings, test_fraction=0.2, seed=0)


@pytest.fixture(scope="module", params=marked(SPECS), ids=spec_id)
def fitted(request, frames, small_content):
    """``(spec, model, what fit returned)``, fitted once per module."""
    model = build(request.param, small_content)
    return request.param, model, model.fit(frames[0])


def test_every_registered_model_is_under_contract():
    assert {name for name, _ in SPECS} == set(reclearn.available_models())
    assert {spec for spec in DEEP} == {(n, b) for n in DEEP_MODELS for b in BACKENDS}


# --- fit and predict --------------------------------------------------------------


def test_fit_returns_the_model_itself(fitted):
    (name, backend), model, returned = fitted
    assert returned is model
    if backend:
        assert model.backend == backend and model.name == name


def test_predict_returns_finite_floats_aligned_with_the_rows(fitted, frames):
    _, model, _ = fitted
    train, test = frames
    predictions = model.predict(test)
    assert isinstance(predictions, reclearn.Predictions)
    assert predictions.shape == (len(test),)
    assert predictions.dtype == np.float64
    assert np.isfinite(predictions).all()
    assert predictions.fallback.shape == (len(test),)
    # the default scale is the range of the training ratings (as float32)
    low, high = model.rating_scale
    observed = (train.rating.min(), train.rating.max())
    assert (low, high) == pytest.approx(observed, rel=1e-7)
    if model.clip_predictions:
        assert predictions.min() >= low and predictions.max() <= high


@pytest.mark.parametrize("fitted", marked(DETERMINISTIC), ids=spec_id, indirect=True)
def test_predictions_follow_the_rows_of_the_frame(fitted, frames):
    _, model, _ = fitted
    test = frames[1]
    forward = model.predict(test)
    backward = model.predict(test.iloc[::-1])
    # float32 models may round an ulp apart when a batch holds other rows; a row
    # mix-up moves predictions by far more
    np.testing.assert_allclose(backward[::-1], forward, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fitted", marked(DETERMINISTIC), ids=spec_id, indirect=True)
def test_predict_accepts_plain_string_ids(fitted, frames):
    _, model, _ = fitted
    test = frames[1]
    plain = test.astype({"user_id": str, "item_id": str})
    np.testing.assert_array_equal(model.predict(plain), model.predict(test))


def test_known_pairs_do_not_fall_back(fitted, frames):
    _, model, _ = fitted
    assert model.predict(frames[0]).num_fallback == 0


def test_unknown_users_and_items_fall_back_to_biases(fitted, frames):
    _, model, _ = fitted
    user, item = str(frames[0].user_id.iloc[0]), str(frames[0].item_id.iloc[0])
    query = pd.DataFrame(
        {"user_id": ["nobody", user, "nobody"], "item_id": [item, "nothing", "nothing"]}
    )
    predictions = model.predict(query)
    assert predictions.num_fallback == 3
    assert predictions.fallback.tolist() == [True, True, True]
    mu, b_u, b_i = model.fallback_biases()
    u, i = model.index.users([user])[0], model.index.items([item])[0]
    expected = np.array([mu + b_i[i], mu + b_u[u], mu])
    if model.clip_predictions:
        expected = np.clip(expected, *model.rating_scale)
    np.testing.assert_allclose(predictions, expected, rtol=0, atol=1e-12)


# --- recommend and the scores it ranks --------------------------------------------


def test_recommend_gives_k_ranked_unseen_items_per_known_user(fitted, frames):
    (name, _), model, _ = fitted
    train = frames[0]
    users, k = ["u0", "u5", "u59"], 5
    top = model.recommend(users, k=k)
    assert list(top.columns) == ["user_id", "rank", "item_id", "score", "fallback"]
    assert len(top) == k * len(users)
    assert list(top.user_id.unique()) == users
    assert not top.fallback.any()
    for user, rows in top.groupby("user_id", sort=False):
        assert list(rows["rank"]) == list(range(1, k + 1))
        assert rows.score.is_monotonic_decreasing
        assert np.isfinite(rows.score).all()
        assert set(rows.item_id) <= _scorable_items(name, train, model)
        seen = set(train.loc[train.user_id == user, "item_id"].astype(str))
        assert not set(rows.item_id) & seen


def test_recommend_can_include_seen_items(fitted, frames):
    (name, _), model, _ = fitted
    everything = model.recommend("u0", k=1000, exclude_seen=False)
    assert set(everything.item_id) == _scorable_items(name, frames[0], model)
    assert len(everything) == everything.item_id.nunique()


def _scorable_items(name, train, model) -> set[str]:
    """Items rated in training; every item of the content for content models."""
    if name in CONTENT_MODELS:
        return set(model.index.item_ids)
    return set(train.item_id.astype(str))


def test_an_unknown_user_gets_finite_fallback_recommendations(fitted, frames):
    (name, _), model, _ = fitted
    top = model.recommend(["nobody"], k=4)
    assert top["rank"].tolist() == [1, 2, 3, 4]
    assert top.fallback.all()
    assert np.isfinite(top.score).all()
    mu, _, b_i = model.fallback_biases()
    items = model.index.items(sorted(_scorable_items(name, frames[0], model)))
    best = np.sort(mu + b_i[items])[::-1][:4]
    np.testing.assert_allclose(top.score, best, rtol=0, atol=1e-12)


@pytest.mark.parametrize("fitted", marked(DETERMINISTIC), ids=spec_id, indirect=True)
def test_recommend_scores_are_the_unclipped_pair_scores(fitted):
    _, model, _ = fitted
    top = model.recommend(["u3", "u7"], k=3)
    users = model.index.users(top.user_id)
    items = model.index.items(top.item_id)
    scores = model.score_pairs(users, items)
    np.testing.assert_allclose(top.score, scores, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fitted", marked(DETERMINISTIC), ids=spec_id, indirect=True)
def test_score_users_lays_out_the_pair_scores_as_a_matrix(fitted, frames):
    (name, _), model, _ = fitted
    users = model.index.users(["u1", "u2", "u40"])
    items = model.index.items(sorted(_scorable_items(name, frames[0], model)))
    matrix = model.score_users(users)
    assert matrix.shape == (3, len(model.index.item_ids))
    pairs = model.score_pairs(np.repeat(users, len(items)), np.tile(items, 3))
    np.testing.assert_allclose(matrix[:, items].ravel(), pairs, rtol=1e-6, atol=1e-5)


# --- save and load ----------------------------------------------------------------


def _saved(model, path) -> bool:
    """Save ``model`` to ``path``; False if the model refuses with a clear TypeError."""
    try:
        model.save(path)
    except TypeError as error:
        assert "cannot be saved" in str(error)
        return False
    return True


@pytest.mark.parametrize("fitted", marked(SPECS), ids=spec_id, indirect=True)
def test_a_saved_model_loads_back_exactly_or_refuses_clearly(fitted, frames, tmp_path):
    (name, _), model, _ = fitted
    path = tmp_path / "model.npz"
    if not _saved(model, path):
        assert name not in DEEP_MODELS  # deep models, content ones too, round-trip
        assert not path.exists()
        return
    loaded = type(model).load(path)
    assert loaded.config == model.config
    unknown = pd.DataFrame({"user_id": ["nobody"], "item_id": ["i3"]})
    query = pd.concat([frames[1], unknown])
    before, after = model.predict(query), loaded.predict(query)
    np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(after.fallback, before.fallback)
    users = ["u0", "u9", "nobody"]
    expected = model.recommend(users, k=7)
    pd.testing.assert_frame_equal(loaded.recommend(users, k=7), expected)


# --- determinism ------------------------------------------------------------------


@pytest.mark.parametrize("fitted", marked(DETERMINISTIC), ids=spec_id, indirect=True)
def test_two_fits_from_the_same_seed_predict_identically(fitted, frames, small_content):
    spec, model, _ = fitted
    again = build(spec, small_content).fit(frames[0])
    np.testing.assert_array_equal(again.predict(frames[1]), model.predict(frames[1]))
    expected = model.recommend(["u4"], k=5)
    pd.testing.assert_frame_equal(again.recommend(["u4"], k=5), expected)


def test_normal_predictor_is_random_at_predict_time(frames):
    model = reclearn.build("surprise-normal").fit(frames[0])
    assert not np.array_equal(model.predict(frames[1]), model.predict(frames[1]))


@pytest.mark.parametrize("fitted", DEEP, ids=spec_id, indirect=True)
def test_deep_models_record_one_history_entry_per_epoch(fitted):
    _, model, _ = fitted
    assert [h["epoch"] for h in model.history] == [1, 2, 3]
    assert all(np.isfinite(h["loss"]) for h in model.history)
    # learning curves come only with validation: the rating models hold out their own
    watched = getattr(model.config, "validation_fraction", 0) > 0
    assert all(("val_rmse" in h) == watched for h in model.history)
    assert model.history[-1]["loss"] < model.history[0]["loss"]


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize("column", ["user_id", "item_id", "rating"])
def test_a_missing_column_is_named(fitted, frames, small_content, column):
    spec, model, _ = fitted
    train, test = frames
    with pytest.raises(ValueError, match=f"missing column.*{column}"):
        build(spec, small_content).fit(train.drop(columns=column))
    if column != "rating":
        with pytest.raises(ValueError, match=f"missing column.*{column}"):
            model.predict(test.drop(columns=column))


def test_k_below_one_is_rejected(fitted):
    _, model, _ = fitted
    with pytest.raises(ValueError, match="k must be an integer of at least 1, got 0"):
        model.recommend(["u0"], k=0)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_predict_before_fit_raises_a_runtime_error(spec):
    model = build(spec)
    with pytest.raises(RuntimeError, match="is not fitted yet: call fit"):
        model.predict(pd.DataFrame({"user_id": ["a"], "item_id": ["b"]}))
    with pytest.raises(RuntimeError, match="is not fitted yet"):
        model.recommend(["a"])
    with pytest.raises(RuntimeError, match="is not fitted yet"):
        model.score_users([0])


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_build_rejects_an_unknown_option(spec):
    name, backend = spec
    with pytest.raises(ValueError, match="option.*'no_such_option'"):
        reclearn.build(name, backend or "torch", no_such_option=1)


# --- the registry -----------------------------------------------------------------


def test_build_rejects_an_unknown_model_and_lists_the_valid_ones():
    message = "unknown model 'svd'; available: mf, .*surprise-svd"
    with pytest.raises(ValueError, match=message):
        reclearn.build("svd")


def test_build_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'jax'; use 'torch' or 'tf'"):
        reclearn.build("mf", backend="jax")


def test_an_unknown_option_error_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        reclearn.build("mf", num_factor=8)
    message = str(info.value)
    assert "unknown option(s) ['num_factor'] for 'mf'" in message
    assert "num_factors" in message and "learning_rate" in message


def test_the_device_option_is_rejected_for_tensorflow():
    message = "device option applies to backend='torch' only"
    with pytest.raises(ValueError, match=message):
        reclearn.build("mf", backend="tf", device="cpu")


def test_the_device_option_is_accepted_for_torch():
    model = reclearn.build("mf", backend="torch", device="cpu")
    assert str(model.device) == "cpu"


def test_build_passes_options_into_the_config():
    model = reclearn.build("mf", backend="tf", num_factors=7, epochs=2)
    assert model.config.num_factors == 7
    assert model.config.epochs == 2
    assert model.backend == "tf"
    assert repr(model).startswith("MFRecommender(MFConfig(epochs=2")


def test_surprise_parameters_override_the_defaults():
    model = reclearn.build("surprise-svd", n_factors=5)
    assert model.params == {"random_state": 0, "n_factors": 5}
    assert model.name == "surprise-svd"
    assert set(SURPRISE_MODELS) <= set(reclearn.available_models())


# --- MF learns its own fallback ---------------------------------------------------


MF = [("mf", backend) for backend in BACKENDS]


@pytest.mark.parametrize("fitted", MF, ids=spec_id, indirect=True)
def test_mf_falls_back_to_the_global_mean_plus_the_learned_item_bias(fitted, frames):
    _, model, _ = fitted
    item = "i7"
    b_i = model.get_weights()["item_bias.embeddings"][model.index.items([item])[0], 0]
    assert b_i != 0.0  # learned, not the zero it started from
    query = pd.DataFrame({"user_id": ["nobody"], "item_id": [item]})
    predictions = model.predict(query)
    assert predictions.num_fallback == 1
    expected = np.clip(model.global_mean + float(b_i), *model.rating_scale)
    assert predictions[0] == pytest.approx(expected, abs=1e-12)
    assert model.global_mean == pytest.approx(frames[0].rating.mean(), rel=1e-6)
