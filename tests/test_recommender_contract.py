"""Every model and backend honours the Recommender contract on the same small frame."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.registry import SIMPLE_MODELS, SURPRISE_MODELS

DEEP = [("mf", "torch"), ("mf", "tf")]
MODELS = DEEP + [(name, "torch") for name in SURPRISE_MODELS]
MODELS += [(name, "numpy") for name in SIMPLE_MODELS]  # ranking scores: not clipped
SLOW_ON_BIG_DATA = {"surprise-svdpp", "surprise-slopeone"}  # fine on this 900-rating frame
# NormalPredictor draws a fresh random rating for every prediction.
DETERMINISTIC = [spec for spec in MODELS if spec[0] != "surprise-normal"]


def model_id(spec):
    name, backend = spec
    return f"{name}-{backend}" if name == "mf" else name


@pytest.fixture(scope="module")
def frames(small):
    train, test = split.random_split(small.ratings, test_fraction=0.2, seed=0)
    return train, test


@pytest.fixture(scope="module", params=MODELS, ids=model_id)
def fitted(request, frames):
    name, backend = request.param
    options = {"epochs": 3, "verbose": False} if name == "mf" else {}
    model = reclearn.build(name, backend, **options)
    returned = model.fit(frames[0])
    return model, returned


def test_normal_predictor_is_random_at_predict_time(frames):
    model = reclearn.build("surprise-normal").fit(frames[0])
    assert not np.array_equal(model.predict(frames[1]), model.predict(frames[1]))


# deep CF models (both backends) honour the contract in tests/test_ncf_twins.py
COVERED_ELSEWHERE = {"neuralcf", "gmf", "mlp", "neumf", "bpr-mf"}
# content models (they need item content) in tests/test_content.py and test_content_twins.py
COVERED_ELSEWHERE |= {"content-tfidf", "content-cnn", "content-bag", "hybrid"}


def test_the_contract_covers_every_registered_model():
    covered = {name for name, _ in MODELS} | COVERED_ELSEWHERE
    assert covered == set(reclearn.available_models())
    assert SLOW_ON_BIG_DATA <= set(SURPRISE_MODELS)


def test_fit_returns_the_model_itself(fitted):
    model, returned = fitted
    assert returned is model


def test_predict_returns_finite_clipped_predictions_aligned_with_rows(fitted, frames):
    model, _ = fitted
    train, test = frames
    predictions = model.predict(test)
    assert isinstance(predictions, reclearn.Predictions)
    assert isinstance(predictions, np.ndarray)
    assert predictions.shape == (len(test),)
    assert predictions.dtype == np.float64
    assert np.isfinite(predictions).all()
    low, high = model.rating_scale
    # the default scale is the range of the training ratings (as float32)
    assert (low, high) == pytest.approx((train.rating.min(), train.rating.max()), rel=1e-7)
    if model.clip_predictions:
        assert predictions.min() >= low and predictions.max() <= high
    assert predictions.fallback.shape == (len(test),)


@pytest.mark.parametrize("fitted", DETERMINISTIC, ids=model_id, indirect=True)
def test_predictions_follow_the_rows_of_the_frame(fitted, frames):
    model, _ = fitted
    test = frames[1]
    forward = model.predict(test)
    backward = model.predict(test.iloc[::-1])
    np.testing.assert_allclose(backward[::-1], forward, rtol=0, atol=1e-9)


@pytest.mark.parametrize("fitted", DETERMINISTIC, ids=model_id, indirect=True)
def test_predict_accepts_plain_string_ids(fitted, frames):
    model, _ = fitted
    test = frames[1]
    plain = test.assign(user_id=test.user_id.astype(str), item_id=test.item_id.astype(str))
    np.testing.assert_array_equal(model.predict(plain), model.predict(test))


def test_unknown_users_and_items_fall_back_to_biases(fitted, frames):
    model, _ = fitted
    train = frames[0]
    known_item = str(train.item_id.iloc[0])
    query = pd.DataFrame(
        {"user_id": ["nobody", str(train.user_id.iloc[0]), "nobody"],
         "item_id": [known_item, "nothing", "nothing"]}
    )  # fmt: skip
    predictions = model.predict(query)
    assert predictions.num_fallback == 2 + 1
    assert list(predictions.fallback) == [True, True, True]
    mu, b_u, b_i = model._biases()
    u = model.index.users([query.user_id[1]])[0]
    i = model.index.items([known_item])[0]
    expected = np.array([mu + b_i[i], mu + b_u[u], mu])
    if model.clip_predictions:
        expected = np.clip(expected, *model.rating_scale)
    np.testing.assert_allclose(predictions, expected, rtol=0, atol=1e-12)


def test_known_pairs_do_not_fall_back(fitted, frames):
    model, _ = fitted
    assert model.predict(frames[0]).num_fallback == 0


def test_recommend_gives_k_ranked_unseen_existing_items_per_user(fitted, frames):
    model, _ = fitted
    train = frames[0]
    users = ["u0", "u5", "u59"]
    k = 5
    top = model.recommend(users, k=k)
    assert list(top.columns) == ["user_id", "rank", "item_id", "score", "fallback"]
    assert len(top) == k * len(users)
    for user, rows in top.groupby("user_id", sort=False):
        assert list(rows["rank"]) == list(range(1, k + 1))
        assert rows.score.is_monotonic_decreasing
        assert np.isfinite(rows.score).all()
        assert set(rows.item_id) <= set(train.item_id.astype(str))
        seen = set(train.loc[train.user_id == user, "item_id"].astype(str))
        assert not set(rows.item_id) & seen
    assert list(top.user_id.unique()) == users
    assert not top.fallback.any()


@pytest.mark.parametrize("fitted", DETERMINISTIC, ids=model_id, indirect=True)
def test_recommend_scores_are_the_unclipped_pair_scores(fitted):
    model, _ = fitted
    top = model.recommend(["u3"], k=3)
    users = model.index.users(top.user_id)
    items = model.index.items(top.item_id)
    np.testing.assert_allclose(top.score, model._score_pairs(users, items), rtol=1e-6, atol=1e-6)


def test_recommend_can_include_seen_items(fitted, frames):
    model, _ = fitted
    train = frames[0]
    num_rated = train.item_id.nunique()
    everything = model.recommend("u0", k=1000, exclude_seen=False)
    assert len(everything) == num_rated  # every item rated in training, nothing else


def test_an_unknown_user_gets_fallback_recommendations(fitted):
    model, _ = fitted
    top = model.recommend(["nobody"], k=4)
    assert len(top) == 4
    assert top.fallback.all()
    assert list(top["rank"]) == [1, 2, 3, 4]
    mu, _, b_i = model._biases()
    best = np.sort((mu + b_i)[model.item_known])[::-1][:4]
    np.testing.assert_allclose(top.score, best, rtol=0, atol=1e-12)


@pytest.mark.parametrize("spec", MODELS, ids=model_id)
def test_predict_before_fit_raises_a_runtime_error(spec):
    model = reclearn.build(*spec)
    with pytest.raises(RuntimeError, match="is not fitted yet: call fit"):
        model.predict(pd.DataFrame({"user_id": ["a"], "item_id": ["b"]}))
    with pytest.raises(RuntimeError, match="is not fitted yet"):
        model.recommend(["a"])


def test_build_rejects_an_unknown_model_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'svd'; available: mf, .*surprise-svd"):
        reclearn.build("svd")


def test_build_rejects_an_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'jax'; use 'torch' or 'tf'"):
        reclearn.build("mf", backend="jax")


def test_build_rejects_an_unknown_option_and_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        reclearn.build("mf", num_factor=8)
    message = str(info.value)
    assert "unknown option(s) ['num_factor'] for 'mf'" in message
    assert "num_factors" in message and "learning_rate" in message


def test_the_device_option_is_rejected_for_tensorflow():
    with pytest.raises(ValueError, match="device option applies to backend='torch' only"):
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


def test_deep_models_record_one_history_entry_per_epoch(fitted):
    model, _ = fitted
    if model.backend in ("surprise", "numpy"):  # not trained by epochs
        assert not hasattr(model, "history")
        return
    assert [h["epoch"] for h in model.history] == [1, 2, 3]
    assert all(np.isfinite(h["loss"]) for h in model.history)
    assert all("val_rmse" not in h for h in model.history)  # curves only with validation
    losses = [h["loss"] for h in model.history]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("fitted", DEEP, ids=model_id, indirect=True)
def test_mf_falls_back_to_the_global_mean_plus_the_learned_item_bias(fitted, frames):
    model, _ = fitted
    item = "i7"
    b_i = model.get_weights()["item_bias.embeddings"][model.index.items([item])[0], 0]
    assert b_i != 0.0  # learned, not the zero it started from
    predictions = model.predict(pd.DataFrame({"user_id": ["nobody"], "item_id": [item]}))
    assert predictions.num_fallback == 1
    expected = np.clip(model.global_mean + float(b_i), *model.rating_scale)
    assert predictions[0] == pytest.approx(expected, abs=1e-12)
    assert model.global_mean == pytest.approx(frames[0].rating.mean(), rel=1e-6)
