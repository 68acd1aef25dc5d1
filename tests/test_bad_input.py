"""Every kind of bad input fails loudly, with the right exception and a message naming
the culprit (the argument, column or value) and what to do; never a silent NaN.

Sections: configs and build options; frames and ids; time; splits; metrics; fit,
predict and recommend arguments; model files; training divergence; downloads;
command line. Each parametrised case is one kind of mistake; cases that involve a
model run on both backends. Data are tiny and training takes one or two epochs.
"""

import contextlib
import dataclasses
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import cli, configs, data, metrics, split
from reclearn.checks import ArgumentTypeError
from reclearn.data import DataError
from reclearn.evaluate import evaluate_ranking
from reclearn.interactions import validate_ratings
from reclearn.io import ModelFileError
from reclearn.models.training import TrainingDiverged

BACKENDS = ["torch", "tf"]


@contextlib.contextmanager
def fails(exception, *culprits):
    """Expect ``exception`` whose message contains every string in ``culprits``."""
    with pytest.raises(exception) as info:
        yield info
    message = str(info.value)
    for culprit in culprits:
        assert culprit in message, f"{culprit!r} not named in: {message}"


def frame(**columns):
    base = {
        "user_id": ["a", "a", "b"],
        "item_id": ["x", "y", "x"],
        "rating": [4.0, 3.0, 5.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def timed(**columns):
    return frame(**{"timestamp": [1, 2, 3], **columns})


@pytest.fixture(scope="module")
def tiny():
    """30 users, 20 items, 180 ratings with timestamps (categorical ids u0.., i0..)."""
    dataset = reclearn.make_synthetic(num_users=30, num_items=20, density=0.3, seed=0)
    return dataset.ratings


@pytest.fixture(scope="module")
def mf():
    return reclearn.build("mf", "torch", epochs=1, verbose=False)


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request, tiny):
    """A one-epoch MF of each backend."""
    options = {"epochs": 1, "num_factors": 2, "verbose": False}
    return reclearn.build("mf", request.param, **options).fit(tiny)


# --- configs and build options -------------------------------------------------------

CONFIG_CASES = [
    # (model, options, exception, culprits named in the message)
    ("mf", {"num_factors": 2.5}, TypeError, ["num_factors", "2.5"]),
    ("mf", {"epochs": 2.5}, TypeError, ["epochs", "2.5", "whole number"]),
    ("mf", {"epochs": True}, TypeError, ["epochs", "True"]),
    ("mf", {"epochs": 0}, ValueError, ["epochs must be an integer of at least 1", "0"]),
    ("mf", {"batch_size": 0}, ValueError, ["batch_size", "at least 1"]),
    ("mf", {"seed": 1.5}, TypeError, ["seed", "1.5"]),
    ("mf", {"seed": -1}, ValueError, ["seed", "-1"]),
    ("mf", {"patience": -1}, ValueError, ["patience", "-1"]),
    (
        "mf",
        {"learning_rate": float("nan")},
        ValueError,
        ["learning_rate", "nan", "finite"],
    ),
    (
        "mf",
        {"learning_rate": float("inf")},
        ValueError,
        ["learning_rate", "inf", "finite"],
    ),
    ("mf", {"learning_rate": 0.0}, ValueError, ["learning_rate must be positive", "0"]),
    ("mf", {"learning_rate": "0.01"}, TypeError, ["learning_rate", "'0.01'", "str"]),
    ("mf", {"adam_epsilon": 0.0}, ValueError, ["adam_epsilon must be positive"]),
    ("mf", {"l2": float("nan")}, ValueError, ["l2", "nan"]),
    ("mf", {"l2": -1.0}, ValueError, ["l2 must be non-negative", "-1"]),
    ("mf", {"init_std": 1e20}, ValueError, ["init_std", "1e+20", "(0, 10]"]),
    ("mf", {"init_std": 0.0}, ValueError, ["init_std", "0"]),
    ("mf", {"validation_fraction": 1.0}, ValueError, ["validation_fraction", "[0, 1)"]),
    ("mf", {"verbose": "no"}, TypeError, ["verbose must be True or False", "'no'"]),
    ("neuralcf", {"hidden": (8, 2.5)}, TypeError, ["hidden[1]", "2.5"]),
    (
        "neuralcf",
        {"hidden": ()},
        ValueError,
        ["hidden must be a non-empty tuple", "()"],
    ),
    ("neuralcf", {"dropout": 1.0}, ValueError, ["dropout must be in [0, 1)", "1"]),
    ("mlp", {"hidden": (1, 4)}, ValueError, ["hidden[0] must be at least 2", "(1, 4)"]),
    ("gmf", {"num_negatives": 0}, ValueError, ["num_negatives", "0"]),
    ("gmf", {"replace": "yes"}, TypeError, ["replace must be True or False", "'yes'"]),
    ("gmf", {"threshold": float("nan")}, ValueError, ["threshold", "nan"]),
    ("neumf", {"alpha": 1.5}, ValueError, ["alpha must be in [0, 1]", "1.5"]),
    (
        "bpr-mf",
        {"validation_fraction": 0.1},
        ValueError,
        ["implicit models", "validation_fraction", "0.1", "leave_last_out"],
    ),
    ("content-cnn", {"kernel_size": 4}, ValueError, ["kernel_size", "odd", "4"]),
    ("content-bag", {"encoder": "rnn"}, ValueError, ["encoder must be 'cnn'", "'rnn'"]),
    ("content-cnn", {"max_tokens": 0}, ValueError, ["max_tokens", "0"]),
    ("hybrid", {"id_dropout": 1.0}, ValueError, ["id_dropout", "[0, 1)"]),
    (
        "mf",
        {"num_factor": 4},
        ValueError,
        ["num_factor", "valid options", "num_factors"],
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("name", "options", "exception", "culprits"),
    CONFIG_CASES,
    ids=[f"{name}-{'-'.join(options)}" for name, options, *_ in CONFIG_CASES],
)
def test_a_bad_option_of_a_deep_model_is_named_when_building(
    backend, name, options, exception, culprits
):
    with fails(exception, *culprits):
        reclearn.build(name, backend, **options)


BASELINE_CASES = [
    ("itemknn", {"k": 2.5}, TypeError, ["k must be an integer", "2.5"]),
    ("itemknn", {"k": 0}, ValueError, ["k must be an integer of at least 1", "0"]),
    (
        "itemknn",
        {"shrinkage": -1.0},
        ValueError,
        ["shrinkage must be non-negative", "-1"],
    ),
    ("ease", {"l2": 0.0}, ValueError, ["l2 must be positive", "0"]),
    ("ease", {"l2_grid": ()}, ValueError, ["l2_grid", "()"]),
    ("ease", {"l2_grid": (10.0, float("nan"))}, ValueError, ["l2_grid[1]", "nan"]),
    ("ease", {"validation_fraction": 1.0}, ValueError, ["validation_fraction", "1"]),
    ("ease", {"seed": 0.5}, TypeError, ["seed", "0.5"]),
    ("als", {"factors": 0}, ValueError, ["factors must be an integer in [1, 4096]", "0"]),
    ("als", {"iterations": 2.5}, TypeError, ["iterations must be an integer", "2.5"]),
    ("als", {"regularization": -0.1}, ValueError, ["regularization", "non-negative"]),
    ("als", {"alpha": 0.0}, ValueError, ["alpha must be positive", "confidence"]),
    ("als", {"seed": -1}, ValueError, ["seed", "-1"]),
    ("als", {"l2": 1.0}, ValueError, ["['l2']", "'als'", "regularization"]),
    ("pop", {"threshold": float("inf")}, ValueError, ["threshold", "inf"]),
    ("pop", {"k": 3}, ValueError, ["['k']", "'pop'", "threshold"]),
    ("content-tfidf", {"min_df": 0}, ValueError, ["min_df", "0"]),
    ("content-tfidf", {"centre": "yes"}, TypeError, ["centre", "'yes'"]),
]


@pytest.mark.parametrize(
    ("name", "options", "exception", "culprits"),
    BASELINE_CASES,
    ids=[f"{name}-{'-'.join(options)}" for name, options, *_ in BASELINE_CASES],
)
def test_a_bad_option_of_a_numpy_baseline_is_named_when_building(
    name, options, exception, culprits
):
    with fails(exception, *culprits):
        reclearn.build(name, **options)


@pytest.mark.parametrize(
    ("call", "exception", "culprits"),
    [
        (lambda: reclearn.build("svd++"), ValueError, ["'svd++'", "available", "mf"]),
        (lambda: reclearn.build("mf", "jax"), ValueError, ["'jax'", "'torch' or 'tf'"]),
        (lambda: reclearn.build(None), TypeError, ["name must be a string", "None"]),
        (lambda: reclearn.build("mf", backend=1), TypeError, ["backend", "1 (int)"]),
        (
            lambda: reclearn.build("mf", "tf", device="cpu"),
            ValueError,
            ["device", "torch"],
        ),
    ],
    ids=[
        "unknown-model",
        "unknown-backend",
        "name-not-a-string",
        "backend-not-a-string",
        "device-with-tf",
    ],
)
def test_a_bad_model_name_or_backend_is_named(call, exception, culprits):
    with fails(exception, *culprits):
        call()


def test_a_wrong_type_is_also_a_value_error_for_callers_that_catch_those():
    with pytest.raises(ValueError, match="num_factors"):
        reclearn.build("mf", num_factors=2.5)
    assert issubclass(ArgumentTypeError, TypeError)


def test_every_number_and_flag_of_every_config_is_checked():
    classes = [c for c in vars(configs).values() if dataclasses.is_dataclass(c)]
    for config_class in classes:
        for field in dataclasses.fields(config_class):
            if field.type.split(" |")[0] in ("int", "float", "bool"):
                assert field.name in configs.FIELD_CHECKS, (config_class, field.name)


def test_numpy_numbers_are_accepted_and_stored_as_python_numbers():
    options = {"num_factors": np.int64(4), "l2": np.float32(0.5), "verbose": np.True_}
    config = configs.MFConfig(**options)
    assert (config.num_factors, config.l2, config.verbose) == (4, 0.5, True)
    assert type(config.num_factors) is int and type(config.l2) is float
    json.dumps(dataclasses.asdict(config))  # what a model file stores


# --- frames and ids ------------------------------------------------------------------


def test_a_good_frame_passes():
    validate_ratings(frame(), (1, 5))


def test_a_frame_that_is_not_a_dataframe_raises_a_type_error(mf):
    with fails(TypeError, "ratings must be a pandas DataFrame", "dict"):
        validate_ratings(frame().to_dict())
    with fails(TypeError, "train must be a pandas DataFrame", "ndarray"):
        mf.fit(np.zeros((3, 3)))


@pytest.mark.parametrize("column", ["user_id", "item_id", "rating"])
def test_a_missing_column_is_named_with_the_columns_present(column):
    with fails(ValueError, f"missing column(s) ['{column}']", "it has ["):
        validate_ratings(frame().drop(columns=column))


def test_a_renamed_column_message_lists_the_columns_present():
    bad = frame().rename(columns={"user_id": "userId"})
    with fails(ValueError, "it has ['userId', 'item_id', 'rating']"):
        validate_ratings(bad)


def test_predict_needs_no_rating_column_but_split_needs_ids():
    validate_ratings(frame().drop(columns="rating"), require_rating=False)
    with fails(ValueError, "missing column(s) ['item_id']"):
        split.random_split(frame().drop(columns="item_id"))


def test_an_empty_frame_is_rejected(mf):
    with fails(ValueError, "train is empty"):
        mf.fit(frame().iloc[:0])


@pytest.mark.parametrize(
    ("column", "values", "row"),
    [
        ("user_id", ["a", None, "b"], 1),
        ("item_id", ["x", "y", np.nan], 2),
        ("rating", [4.0, np.nan, 5.0], 1),
    ],
)
def test_nan_in_a_column_names_the_column_and_shows_the_row(column, values, row, mf):
    bad = frame(**{column: values})
    message = f"missing value (NaN) in column '{column}', e.g. row {row}:"
    with fails(ValueError, message):
        validate_ratings(bad)
    with fails(ValueError, f"column '{column}'"):
        mf.fit(bad)


def test_nan_message_shows_the_offending_rows_values():
    with fails(ValueError, "'user_id': 'a', 'item_id': 'y'"):
        validate_ratings(frame(rating=[4.0, np.nan, 5.0]))


def test_duplicate_user_item_pairs_are_rejected_with_an_example(mf):
    bad = frame(item_id=["x", "x", "x"])
    message = "2 rows with a repeated (user_id, item_id) pair, e.g. row 0: "
    with fails(ValueError, message):
        validate_ratings(bad)
    with fails(ValueError, "keep one rating per pair"):
        mf.fit(bad)


def test_an_int_id_and_the_same_id_as_a_string_are_one_user_so_a_duplicate():
    bad = frame(user_id=[1, "1", 2], item_id=["x", "x", "x"])
    with fails(ValueError, "repeated (user_id, item_id) pair", "row 0"):
        validate_ratings(bad)


@pytest.mark.parametrize("column", ["user_id", "item_id"])
def test_float_ids_raise_a_type_error(column, mf):
    with fails(TypeError, f"column '{column}' holds float64", "convert it first"):
        mf.fit(frame(**{column: [1.0, 2.0, 3.0]}))


@pytest.mark.parametrize(
    ("ratings", "dtype"), [(["4", "3", "5"], "str"), ([True, False, True], "bool")]
)
def test_ratings_that_are_not_numbers_raise_a_type_error(ratings, dtype):
    with fails(TypeError, f"'rating' holds {dtype}", "expected numbers", "row 0"):
        validate_ratings(frame(rating=ratings))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("value", "shown"), [(np.inf, "inf"), (1e39, "1e+39")], ids=["inf", "over-float32"]
)
def test_an_infinite_or_float32_overflowing_rating_is_refused_not_trained_to_nan(
    backend, value, shown
):
    bad = frame(rating=[4.0, value, 5.0])
    model = reclearn.build("mf", backend, epochs=1, verbose=False)
    with fails(ValueError, "train column 'rating'", "float32", "row 1", shown):
        model.fit(bad)


def test_a_rating_outside_the_declared_scale_is_rejected(mf):
    with fails(ValueError, "outside the rating scale [1, 5]", "row 1:", "0.5"):
        mf.fit(frame(rating=[4.0, 0.5, 5.0]), rating_scale=(1, 5))


def test_validation_ratings_are_checked_against_the_scale_too(mf):
    with fails(ValueError, "validation column 'rating' has 1 value"):
        mf.fit(frame(), validation=frame(rating=[4.0, 9.0, 5.0]), rating_scale=(1, 5))


@pytest.mark.parametrize(
    ("scale", "exception", "culprits"),
    [
        ((5, 1), ValueError, ["rating_scale", "low < high", "(5, 1)"]),
        (("1", "5"), TypeError, ["rating_scale[0]", "'1'"]),
        ((1, float("nan")), ValueError, ["rating_scale[1]", "nan"]),
        (5, TypeError, ["rating_scale must be a pair (low, high)", "5"]),
    ],
    ids=["reversed", "strings", "nan", "not-a-pair"],
)
def test_a_malformed_rating_scale_is_named(mf, scale, exception, culprits):
    with fails(exception, *culprits):
        mf.fit(frame(), rating_scale=scale)


def test_integer_categorical_and_mixed_type_ids_are_accepted():
    validate_ratings(frame(user_id=[1, 1, 2], item_id=[10, 20, 10]))
    validate_ratings(frame(user_id=pd.Categorical(["a", "a", "b"])))
    validate_ratings(frame(user_id=[1, "1", 2]))  # one user "1" with two distinct items


# --- time ----------------------------------------------------------------------------


@pytest.mark.parametrize("splitter", [split.temporal_split, split.leave_last_out])
def test_time_ordered_splits_need_a_timestamp_column(splitter):
    with fails(ValueError, "needs a 'timestamp' column", "has ['user_id', 'item_id',"):
        splitter(frame())


@pytest.mark.parametrize(
    ("timestamps", "exception", "culprits"),
    [
        (
            [1, np.nan, 3],
            ValueError,
            ["missing value (NaN) in column 'timestamp'", "row 1"],
        ),
        (
            ["1", "2", "3"],
            TypeError,
            ["column 'timestamp' holds str", "pd.to_numeric"],
        ),
        ([1.0, np.inf, 3.0], ValueError, ["column 'timestamp'", "infinite", "row 1"]),
        ([True, False, True], TypeError, ["column 'timestamp' holds bool"]),
    ],
    ids=["nan", "string", "inf", "bool"],
)
@pytest.mark.parametrize("splitter", [split.leave_last_out, split.temporal_split])
def test_bad_timestamps_are_named_before_they_change_which_rating_is_held_out(
    splitter, timestamps, exception, culprits
):
    with fails(exception, *culprits):
        splitter(timed(timestamp=timestamps))


def test_a_cold_user_split_checks_timestamps_when_it_orders_by_them(tiny):
    bad = tiny.assign(timestamp=tiny.timestamp.astype(float))
    bad.loc[bad.index[3], "timestamp"] = np.nan
    with fails(ValueError, "column 'timestamp'", "row 3"):
        split.cold_user_split(bad, n_known=1)


def test_datetime_timestamps_are_accepted():
    times = pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-02"])
    train, test = split.leave_last_out(timed(timestamp=times))
    assert test.item_id.tolist() == ["y"]


def test_a_temporal_split_needs_distinct_timestamps():
    with fails(ValueError, "cut-off time 5", "distinct timestamps"):
        split.temporal_split(frame(timestamp=[5, 5, 5]))


# --- splits --------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
@pytest.mark.parametrize(
    "splitter", [split.random_split, split.per_user_split, split.temporal_split]
)
def test_test_fraction_must_be_strictly_between_zero_and_one(splitter, fraction):
    message = f"test_fraction must be strictly between 0 and 1, got {fraction:g}"
    with fails(ValueError, message):
        splitter(timed(), test_fraction=fraction)


@pytest.mark.parametrize(
    ("call", "exception", "culprits"),
    [
        (
            lambda: split.random_split(timed(), test_fraction="0.2"),
            TypeError,
            ["test_fraction", "'0.2'"],
        ),
        (lambda: split.random_split(timed(), seed=1.5), TypeError, ["seed", "1.5"]),
        (lambda: split.per_user_split(timed(), seed=-1), ValueError, ["seed", "-1"]),
        (lambda: split.kfold(timed(), n_splits=2.5), TypeError, ["n_splits", "2.5"]),
        (
            lambda: split.kfold(timed(), n_splits=1),
            ValueError,
            ["n_splits", "[2, 3]", "1"],
        ),
        (
            lambda: split.kfold(timed(), n_splits=4),
            ValueError,
            ["n_splits", "[2, 3]", "4"],
        ),
        (
            lambda: split.cold_item_split(timed(), item_fraction=1.0),
            ValueError,
            ["item_fraction", "1"],
        ),
        (
            lambda: split.cold_item_split(timed(), item_fraction=0.1),
            ValueError,
            ["item_fraction 0.1", "0 cold items"],
        ),
        (
            lambda: split.cold_user_split(timed(), user_fraction=0),
            ValueError,
            ["user_fraction", "0"],
        ),
        (
            lambda: split.cold_user_split(timed(), n_known=1.5),
            TypeError,
            ["n_known", "1.5"],
        ),
        (
            lambda: split.cold_user_split(timed(), n_known=-1),
            ValueError,
            ["n_known", "-1"],
        ),
        (lambda: split.thin(timed(), fraction=0), ValueError, ["fraction", "(0, 1]"]),
        (
            lambda: split.thin(timed(), 0.5, min_per_user=True),
            TypeError,
            ["min_per_user", "True"],
        ),
        (
            lambda: split.random_split([1, 2, 3]),
            TypeError,
            ["ratings must be a pandas DataFrame", "list"],
        ),
        (
            lambda: split.per_user_split(frame(item_id=["x", "x", "y"])),
            ValueError,
            ["repeated", "row 0"],
        ),
    ],
    ids=[
        "fraction-string",
        "seed-float",
        "seed-negative",
        "n_splits-float",
        "n_splits-1",
        "n_splits-too-many",
        "item_fraction-1",
        "no-cold-item",
        "user_fraction-0",
        "n_known-float",
        "n_known-negative",
        "thin-fraction-0",
        "min_per_user-bool",
        "not-a-frame",
        "duplicate-pair",
    ],
)
def test_a_bad_split_argument_is_named_when_called(call, exception, culprits):
    with fails(exception, *culprits):
        call()


# --- metrics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "culprits"),
    [
        (
            lambda: metrics.rmse([1.0, np.nan], [1.0, 2.0]),
            ["predicted", "nan", "position 1"],
        ),
        (
            lambda: metrics.mae([1.0, 2.0], [1.0, np.inf]),
            ["actual", "inf", "position 1"],
        ),
        (lambda: metrics.rmse([1.0, 2.0], [1.0]), ["predicted has shape (2,)", "(1,)"]),
        (lambda: metrics.rmse([], []), ["empty"]),
        (lambda: metrics.ndcg_at_k([1, 1], k=5), ["ranks must be distinct", "[1 1]"]),
        (lambda: metrics.ndcg_at_k([1], k=True), ["k must be an integer", "True"]),
        (lambda: metrics.hit_rate_at_k([1], k=2.5), ["k must be an integer", "2.5"]),
        (
            lambda: metrics.precision_at_k([0], k=3),
            ["ranks must be integers >= 1", "[0]"],
        ),
        (
            lambda: metrics.recall_at_k([1, 2], k=3, n_relevant=1),
            ["n_relevant=1", "2 ranks"],
        ),
        (
            lambda: metrics.rank_of_targets([1.0, np.nan], np.array([True, False])),
            ["scores_of_candidates", "NaN at position 1"],
        ),
        (lambda: metrics.auc([1], num_candidates=1), ["non-relevant candidate"]),
        (lambda: metrics.catalog_coverage([[0]], num_items=0), ["num_items", "0"]),
    ],
    ids=[
        "rmse-nan",
        "mae-inf",
        "shape",
        "empty",
        "repeated-ranks",
        "k-bool",
        "k-float",
        "rank-0",
        "n_relevant",
        "nan-score",
        "auc-no-negative",
        "num_items-0",
    ],
)
def test_a_bad_metric_input_is_named(call, culprits):
    with fails(ValueError, *culprits):
        call()


@pytest.mark.parametrize(
    ("options", "culprits"),
    [
        ({"metrics": ["hr", "f1"]}, ["unknown metric(s) ['f1']"]),
        ({"k": 0}, ["k must be an integer of at least 1"]),
        ({"protocol": "top"}, ["unknown protocol 'top'"]),
    ],
    ids=["metric", "k", "protocol"],
)
def test_bad_evaluation_options_are_named(fitted, tiny, options, culprits):
    with fails(ValueError, *culprits):
        evaluate_ranking(fitted, tiny, tiny.iloc[:5], **options)


# --- fit, predict and recommend arguments --------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_patience_without_validation_data_is_refused_naming_both(backend, tiny):
    options = {"epochs": 2, "patience": 2, "validation_fraction": 0.0, "verbose": False}
    model = reclearn.build("mf", backend, **options)
    with fails(ValueError, "patience=2", "validation_fraction=0", "validation="):
        model.fit(tiny)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_validation_frame_of_unknown_ids_only_is_refused(backend, tiny):
    strangers = frame(user_id=["nobody", "nobody", "none"])
    model = reclearn.build("mf", backend, epochs=1, patience=1, verbose=False)
    with fails(ValueError, "none of the 3 validation rows", "nobody"):
        model.fit(tiny, validation=strangers)


@pytest.mark.parametrize(
    ("call", "exception", "culprits"),
    [
        (
            lambda m: m.recommend(["u0"], k=2.5),
            TypeError,
            ["k must be an integer", "2.5"],
        ),
        (lambda m: m.recommend(["u0"], k=0), ValueError, ["k must be an integer", "0"]),
        (lambda m: m.recommend(["u0"], batch_size=0), ValueError, ["batch_size", "0"]),
        (
            lambda m: m.recommend(["u0"], batch_size=2.5),
            TypeError,
            ["batch_size", "2.5"],
        ),
        (lambda m: m.score_pairs([0, 999], [0, 1]), ValueError, ["users", "index 999"]),
        (lambda m: m.score_pairs([0.0], [1]), TypeError, ["users", "float64"]),
        (
            lambda m: m.score_pairs([0, 1], [1]),
            ValueError,
            ["same shape", "(2,)", "(1,)"],
        ),
        (lambda m: m.ranking_scores([10**6]), ValueError, ["users", "index >="]),
        (
            lambda m: m.predict(frame().drop(columns="item_id")),
            ValueError,
            ["frame to predict", "['item_id']"],
        ),
        (
            lambda m: m.predict(frame().values),
            TypeError,
            ["frame to predict", "ndarray"],
        ),
    ],
    ids=[
        "recommend-k-float",
        "recommend-k-0",
        "batch_size-0",
        "batch_size-float",
        "unknown-index",
        "float-indices",
        "shapes",
        "index-out-of-range",
        "predict-missing-column",
        "predict-array",
    ],
)
def test_a_bad_argument_of_a_fitted_model_is_named(fitted, call, exception, culprits):
    with fails(exception, *culprits):
        call(fitted)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unfitted_model_says_to_fit_it_first(backend):
    model = reclearn.build("mf", backend, verbose=False)
    with fails(RuntimeError, "MFRecommender is not fitted yet", "fit(train)"):
        model.predict(frame())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_content_model_without_content_says_how_to_build_it(backend):
    model = reclearn.build("content-bag", backend, verbose=False)
    with fails(ValueError, "needs item content", "content="):
        model.fit(frame())


# --- model files ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp(fitted.backend) / "mf.npz"
    fitted.save(path)
    return path


def rewrite(source, target, change) -> None:
    """Copy a model file, letting ``change(meta, arrays)`` alter its contents."""
    with np.load(source) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(meta, arrays)
    np.savez(target, meta=np.array(json.dumps(meta)), **arrays)


def old_format(meta, arrays):
    meta["format"] = 1


def wrong_shape(meta, arrays):
    arrays["weight/user_embedding.embeddings"] = np.zeros((3, 3), np.float32)


def missing_state(meta, arrays):
    del arrays["state/user_ids"]


def pickled(meta, arrays):
    arrays["state/seen_items"] = np.array([{"a": 1}], dtype=object)


@pytest.mark.parametrize(
    ("change", "culprits"),
    [
        (old_format, ["model file format 1", "reads format 2", "save it again"]),
        (wrong_shape, ["does not match a MFRecommender", "save the model again"]),
        (missing_state, ["does not match a MFRecommender", "user_ids"]),
        (pickled, ["not a readable reclearn model file"]),
    ],
    ids=["old-format-version", "tampered-shape", "tampered-missing-array", "pickle"],
)
def test_a_tampered_or_old_model_file_raises_model_file_error(
    fitted, saved, tmp_path, change, culprits
):
    target = tmp_path / "changed.npz"
    rewrite(saved, target, change)
    with fails(ModelFileError, *culprits) as info:
        type(fitted).load(target)
    assert "allow_pickle=True" not in str(info.value)


@pytest.mark.parametrize(
    ("content", "culprits"),
    [
        (None, ["no model file at"]),
        (
            lambda raw: raw[: len(raw) // 2],
            ["not a readable reclearn model file", "truncated"],
        ),
        (lambda raw: b"user_id,item_id\n1,2\n", ["not a readable", "another program"]),
    ],
    ids=["missing", "truncated", "foreign"],
)
def test_a_missing_truncated_or_foreign_file_raises_model_file_error(
    fitted, saved, tmp_path, content, culprits
):
    target = tmp_path / "model.npz"
    if content is not None:
        target.write_bytes(content(saved.read_bytes()))
    with fails(ModelFileError, str(target), *culprits):
        type(fitted).load(target)


def test_a_file_of_another_model_names_both_models(fitted, saved):
    from importlib import import_module

    module = import_module(f"reclearn.models.{fitted.backend}.recommender")
    other = module.GMFRecommender
    with fails(ModelFileError, "holds a MFRecommender, not a GMFRecommender"):
        other.load(saved)


def test_a_model_without_a_file_format_refuses_to_save(tiny, tmp_path):
    model = reclearn.build("pop").fit(tiny)
    with fails(TypeError, "PopularityRecommender cannot be saved", "refit"):
        model.save(tmp_path / "pop.npz")
    assert list(tmp_path.iterdir()) == []


# --- training divergence -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_learning_rate_stops_training_naming_epoch_and_setting(backend, tiny):
    model = reclearn.build("mf", backend, epochs=2, learning_rate=1e4, verbose=False)
    with fails(TrainingDiverged, "diverged at epoch", "learning_rate=10000", "lower"):
        model.fit(tiny)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_whose_weights_are_not_finite_refuses_to_score(backend, tiny):
    model = reclearn.build("mf", backend, epochs=1, num_factors=2, verbose=False)
    model.fit(tiny)
    weights = model.get_weights()
    weights["item_embedding.embeddings"] = np.full_like(
        weights["item_embedding.embeddings"], np.nan
    )
    model.set_weights(weights)
    with fails(ValueError, "MFRecommender computed", "NaN or +inf score", "refit"):
        model.predict(tiny)
    with fails(ValueError, "NaN or +inf score"):
        model.recommend(["u0"])


# --- downloads -----------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    return tmp_path


def test_a_trickling_download_stops_at_the_deadline(data_dir, monkeypatch):
    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return b"x"

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Trickle())
    monkeypatch.setattr(data, "DOWNLOAD_DEADLINE", 0.1)
    with fails(DataError, "ml-1m.zip", "gave up after 0.1 s", "download deadline"):
        reclearn.load_dataset("ml-1m", download=True)
    assert list(data_dir.rglob("*.part")) == []


def test_a_download_without_a_network_names_the_url_and_where_to_put_the_file(
    data_dir, monkeypatch
):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with fails(DataError, "ml-100k.zip", "no network", "path="):
        reclearn.load_dataset("ml-100k", download=True)


def test_a_local_archive_with_the_wrong_checksum_is_named(tmp_path):
    fake = tmp_path / "ml-1m.zip"
    fake.write_bytes(b"not the real archive")
    with fails(DataError, str(fake), "does not match the published checksum of ml-1m"):
        reclearn.load_dataset("ml-1m", path=fake)


def test_an_unknown_data_set_is_named_with_the_known_ones():
    with fails(ValueError, "'ml-2m'", "ml-latest-small"):
        reclearn.load_dataset("ml-2m")


# --- tuning ----------------------------------------------------------------------------


TUNE_CASES = [
    ({"name": "pop"}, ValueError, ["'pop' has no search space", "ease", "mf"]),
    ({"name": "svd"}, ValueError, ["'svd' is not a model", "surprise-svd"]),
    ({"objective": "ndcg"}, ValueError, ["unknown objective 'ndcg'", "ndcg@10"]),
    ({"name": "mf", "objective": "ndcg@10"}, ValueError, ["'mf'", "objective='rmse'"]),
    ({"trials": None}, ValueError, ["budget", "trials=N", "timeout"]),
    ({"trials": 0}, ValueError, ["trials must be an integer of at least 1", "0"]),
    ({"timeout": -5}, ValueError, ["timeout must be positive", "-5"]),
    ({"name": "mf", "backend": "jax"}, ValueError, ["'jax'", "'torch' or 'tf'"]),
    ({"name": "hybrid"}, ValueError, ["'hybrid' reads item content", "item_content"]),
    ({"name": "fm"}, ValueError, ["'fm' reads item content", "item_content"]),
    ({"seed": 1.5}, TypeError, ["seed", "1.5"]),
    ({"storage": 3}, TypeError, ["storage must be a string", "3"]),
    ({"storage": "db"}, ValueError, ["cannot open the Optuna storage 'db'", "sqlite:///"]),
    ({"storage": "sqlite:////no/such/dir/s.db"}, ValueError, ["/no/such/dir", "writable"]),
]


@pytest.mark.parametrize(
    ("arguments", "exception", "culprits"),
    TUNE_CASES,
    ids=["-".join(f"{k}={v}" for k, v in a.items()) for a, *_ in TUNE_CASES],
)
def test_a_bad_argument_of_tune_is_named_before_any_trial(tiny, arguments, exception, culprits):
    from reclearn.tune import tune

    arguments = {"name": "ease", "trials": 1, **arguments}
    with fails(exception, *culprits):
        tune(arguments.pop("name"), tiny, verbose=False, **arguments)


def test_tuning_for_ranking_without_timestamps_asks_for_them_or_a_validation(tiny):
    from reclearn.tune import tune

    with fails(ValueError, "timestamp", "leave_last_out", "validation="):
        tune("ease", tiny.drop(columns="timestamp"), trials=1, verbose=False)


# --- command line --------------------------------------------------------------------


def test_the_command_line_names_an_unknown_data_set_in_one_line(capsys):
    assert cli.main(["stats", "nope"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("reclearn: error: unknown data set 'nope'")
    assert "\n" not in error


@pytest.mark.parametrize(
    ("argv", "culprits"),
    [
        (["bench", "mf", "--epochs", "0"], ["--epochs", "at least 1", "got 0"]),
        (["bench", "mf", "--folds", "2.5"], ["--folds", "got 2.5"]),
        (["download", "ml-2m"], ["NAME", "'ml-2m'", "ml-1m"]),
        (["tune", "pop", "--trials", "2"], ["MODEL", "'pop'", "ease"]),
        (["tune", "ease", "--trials", "0"], ["--trials", "at least 1", "got 0"]),
        (["tune", "ease", "--objective", "mae"], ["--objective", "'mae'", "rmse"]),
    ],
    ids=["epochs-0", "folds-float", "download-unknown", "tune-pop", "trials-0", "mae"],
)
def test_a_bad_command_line_argument_exits_2_naming_it(capsys, argv, culprits):
    with fails(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    error = capsys.readouterr().err
    for culprit in culprits:
        assert culprit in error


def test_a_model_filter_the_backend_cannot_run_is_one_line(capsys, tmp_path):
    argv = ["bench", "mf", "--backend", "tf", "--models", "mf-torch"]
    assert cli.main([*argv, "--out", str(tmp_path)]) != 0
    error = capsys.readouterr().err.strip()
    assert "'mf-torch'" in error and "'tf'" in error and "\n" not in error


@pytest.mark.parametrize(
    ("argv", "culprits"),
    [
        (["tune", "ease"], ["budget", "--trials N", "--timeout S"]),
        (["tune", "mf", "--objective", "ndcg@10", "--trials", "1"], ["'mf'", "'rmse'"]),
        (["tune", "ease", "--trials", "1", "--dataset", "ml-2m"], ["'ml-2m'"]),
    ],
    ids=["no-budget", "wrong-objective", "unknown-data-set"],
)
def test_a_bad_tune_command_is_one_line_before_any_work(capsys, tmp_path, argv, culprits):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("reclearn: error: ") and "\n" not in error
    for culprit in culprits:
        assert culprit in error
    assert not list(tmp_path.iterdir())
