"""The checks the Benchmarks page's tables run on the committed results at build time."""

import pandas as pd
from test_lab import _load_ext

reclearn_book = _load_ext()


def _folds(**fallbacks) -> pd.DataFrame:
    rows = [
        {"model": model, "fold": fold, "num_fallback": count}
        for model, counts in fallbacks.items()
        for fold, count in enumerate(counts)
    ]
    return pd.DataFrame(rows)


def test_id_only_models_share_a_folds_fallbacks_and_feature_models_have_none():
    good = _folds(mf_torch=[3, 5], svd_surprise=[3, 5], fm_torch=[0, 0])
    good["model"] = good["model"].str.replace("_", "-")
    assert reclearn_book.fallback_problem(good) == ""
    uneven = good.assign(num_fallback=[3, 5, 4, 5, 0, 0])
    assert "differ" in reclearn_book.fallback_problem(uneven)
    fell_back = good.assign(num_fallback=[3, 5, 3, 5, 0, 1])
    assert "fell back" in reclearn_book.fallback_problem(fell_back)


def test_the_committed_rating_results_pass_the_check():
    frame = pd.read_csv(reclearn_book.RESULTS / "mf.csv")
    assert reclearn_book.fallback_problem(frame) == ""
