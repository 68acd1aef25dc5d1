"""Every bad input gets a clear error naming the column, the row and what was expected."""

import numpy as np
import pandas as pd
import pytest

import reclearn
from reclearn import split
from reclearn.interactions import validate_ratings


def frame(**columns):
    base = {"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "rating": [4.0, 3.0, 5.0]}
    base.update(columns)
    return pd.DataFrame(base)


def timed(**columns):
    return frame(timestamp=[1, 2, 3], **columns)


@pytest.fixture(scope="module")
def mf():
    return reclearn.build("mf", "torch", epochs=1, verbose=False)


def test_a_good_frame_passes():
    validate_ratings(frame(), (1, 5))


def test_a_frame_that_is_not_a_dataframe_raises_a_type_error():
    with pytest.raises(TypeError, match="ratings must be a pandas DataFrame, got dict"):
        validate_ratings(frame().to_dict())


def test_fit_rejects_a_numpy_array_with_a_type_error(mf):
    with pytest.raises(TypeError, match="train must be a pandas DataFrame, got ndarray"):
        mf.fit(np.zeros((3, 3)))


@pytest.mark.parametrize("column", ["user_id", "item_id", "rating"])
def test_a_missing_column_is_named(column):
    with pytest.raises(ValueError, match=rf"missing column\(s\) \['{column}'\]"):
        validate_ratings(frame().drop(columns=column))


def test_a_missing_column_message_lists_the_columns_present():
    bad = frame().rename(columns={"user_id": "userId"})
    with pytest.raises(ValueError, match=r"it has \['userId', 'item_id', 'rating'\]"):
        validate_ratings(bad)


def test_predict_needs_no_rating_column_but_split_and_fit_need_ids():
    validate_ratings(frame().drop(columns="rating"), require_rating=False)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['item_id'\]"):
        split.random_split(frame().drop(columns="item_id"))


def test_an_empty_frame_is_rejected():
    with pytest.raises(ValueError, match="train is empty"):
        validate_ratings(frame().iloc[:0], what="train")


def test_fit_rejects_an_empty_frame(mf):
    with pytest.raises(ValueError, match="train is empty"):
        mf.fit(frame().iloc[:0])


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("user_id", ["a", None, "b"]),
        ("item_id", ["x", "y", np.nan]),
        ("rating", [4.0, np.nan, 5.0]),
    ],
)
def test_nan_in_a_column_names_the_column_and_shows_the_row(column, values, mf):
    bad = frame(**{column: values})
    row = 1 if values[1] is None or values[1] is np.nan else 2
    pattern = rf"missing value \(NaN\) in column '{column}', e\.g\. row {row}:"
    with pytest.raises(ValueError, match=pattern):
        validate_ratings(bad)
    with pytest.raises(ValueError, match=pattern):
        mf.fit(bad)


def test_nan_message_shows_the_offending_rows_values():
    with pytest.raises(ValueError) as info:
        validate_ratings(frame(rating=[4.0, np.nan, 5.0]))
    assert "'user_id': 'a', 'item_id': 'y'" in str(info.value)


def test_duplicate_user_item_pairs_are_rejected_with_an_example(mf):
    bad = frame(item_id=["x", "x", "x"])
    pattern = r"2 rows with a repeated \(user_id, item_id\) pair, e\.g\. row 0: "
    with pytest.raises(ValueError, match=pattern):
        validate_ratings(bad)
    with pytest.raises(ValueError, match="keep one rating per pair"):
        mf.fit(bad)


def test_a_rating_outside_the_declared_scale_is_rejected(mf):
    bad = frame(rating=[4.0, 0.5, 5.0])
    with pytest.raises(ValueError) as info:
        mf.fit(bad, rating_scale=(1, 5))
    message = str(info.value)
    assert "train column 'rating' has 1 value(s) outside the rating scale [1, 5]" in message
    assert "row 1:" in message and "0.5" in message


def test_validation_ratings_are_checked_against_the_scale_too(mf):
    bad = frame(rating=[4.0, 9.0, 5.0])
    with pytest.raises(ValueError, match="validation column 'rating' has 1 value"):
        mf.fit(frame(), validation=bad, rating_scale=(1, 5))


@pytest.mark.parametrize("column", ["user_id", "item_id"])
def test_float_ids_raise_a_type_error(column, mf):
    bad = frame(**{column: [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match=rf"column '{column}' holds float64; ids must be"):
        mf.fit(bad)


def test_string_ratings_raise_a_type_error(mf):
    bad = frame(rating=["4", "3", "5"])
    with pytest.raises(TypeError, match="column 'rating' holds .*expected numbers, e.g. row 0"):
        mf.fit(bad)


def test_boolean_ratings_raise_a_type_error():
    with pytest.raises(TypeError, match="expected numbers"):
        validate_ratings(frame(rating=[True, False, True]))


def test_integer_and_categorical_ids_are_accepted():
    validate_ratings(frame(user_id=[1, 1, 2], item_id=[10, 20, 10]))
    validate_ratings(frame(user_id=pd.Categorical(["a", "a", "b"])))


def test_predict_validates_its_frame(small):
    model = reclearn.build("surprise-baseline").fit(small.ratings)
    with pytest.raises(ValueError, match=r"frame to predict is missing column\(s\) \['item_id'\]"):
        model.predict(small.ratings.drop(columns="item_id"))


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
@pytest.mark.parametrize(
    "splitter", [split.random_split, split.per_user_split, split.temporal_split]
)
def test_test_fraction_must_be_strictly_between_zero_and_one(splitter, fraction):
    with pytest.raises(
        ValueError, match=f"test_fraction must be strictly between 0 and 1, got {fraction}"
    ):
        splitter(timed(), test_fraction=fraction)


@pytest.mark.parametrize("splitter", [split.temporal_split, split.leave_last_out])
def test_time_ordered_splits_need_a_timestamp_column(splitter):
    with pytest.raises(
        ValueError,
        match=r"needs a 'timestamp' column; ratings has \['user_id', 'item_id', 'rating'\]",
    ):
        splitter(frame())


def test_a_temporal_split_needs_distinct_timestamps():
    with pytest.raises(ValueError, match="needs distinct timestamps"):
        split.temporal_split(frame(timestamp=[5, 5, 5]))


@pytest.mark.parametrize("n_splits", [1, 4])
def test_kfold_rejects_a_number_of_folds_out_of_range(n_splits):
    with pytest.raises(ValueError, match=rf"n_splits must be in \[2, 3\], got {n_splits}"):
        list(split.kfold(frame(), n_splits=n_splits))


def test_splits_validate_their_input():
    with pytest.raises(TypeError, match="ratings must be a pandas DataFrame"):
        split.random_split([1, 2, 3])
    with pytest.raises(ValueError, match="repeated"):
        split.per_user_split(frame(item_id=["x", "x", "y"]))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1, got 0"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be in \[0, 1\)"),
        ({"patience": -1}, "patience must be non-negative"),
        ({"num_factors": 0}, "num_factors must be at least 1, got 0"),
        ({"l2": -1.0}, "l2 and init_std must be non-negative"),
    ],
)
def test_bad_config_values_are_rejected_when_building(option, message):
    with pytest.raises(ValueError, match=message):
        reclearn.build("mf", **option)


def test_recommend_rejects_k_below_one(small):
    model = reclearn.build("surprise-baseline").fit(small.ratings)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        model.recommend(["u0"], k=0)
