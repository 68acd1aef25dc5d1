"""``reclearn.tune``: every search space builds its model, the best options lie in it,
validation is carved from train by the task's protocol, studies resume from SQLite and
hopeless trials are pruned (bad arguments: tests/test_bad_input.py; the command line:
tests/test_cli.py). Studies are 2 or 3 trials on tiny synthetic data."""

import optuna
import pytest

import reclearn
from reclearn import split
from reclearn.configs import FIXED_EPOCHS
from reclearn.search_spaces import MAX_EPOCHS, SEARCH_SPACES, Tower, suggest
from reclearn.tune import VALIDATION_FRACTION, tune

TINY = {"num_factors": 4, "batch_size": 256}


@pytest.fixture(scope="module")
def ratings():
    return reclearn.make_synthetic(num_users=60, num_items=40, density=0.25, seed=0).ratings


@pytest.mark.parametrize("name", list(SEARCH_SPACES))
def test_every_search_space_names_options_its_model_accepts(name, small_content):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        options = suggest(study.ask(), name)
        if name in reclearn.registry.CONTENT_MODELS:
            options["content"] = small_content
        reclearn.build(name, "torch", **options)  # raises on an unknown or bad option


def _in_space(name: str, options: dict) -> bool:
    for option, space in SEARCH_SPACES[name].items():
        head, _, tail = option.partition(".")
        value = options[head][tail] if tail else options[option]
        if not space.contains(value):
            return False
    return True


@pytest.mark.parametrize("name", ["ease", "als", "itemknn", "surprise-knnbaseline"])
def test_the_best_options_lie_in_the_declared_space(name, ratings):
    result = tune(name, ratings, trials=2, verbose=False)
    assert _in_space(name, result.best_options)
    assert set(result.best_options) == {o.partition(".")[0] for o in SEARCH_SPACES[name]}
    assert len(result.trials) == 2 and result.num_complete == 2
    assert result.best_value == result.trials["value"].agg(
        "min" if result.objective == "rmse" else "max"
    )


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_a_deep_model_gets_its_early_stopped_epochs(backend, ratings):
    result = tune("bpr-mf", ratings, backend=backend, trials=2, verbose=False)
    epochs = result.best_options["epochs"]
    assert 1 <= epochs <= MAX_EPOCHS["bpr-mf"]
    assert _in_space("bpr-mf", result.best_options)
    best = result.trials.loc[result.trials["value"].idxmax()]
    assert best["epochs"] == epochs


def test_pretrained_neumf_gets_its_towers_early_stopped_epochs_too(ratings, monkeypatch):
    from reclearn.search_spaces import Choice

    space = {**SEARCH_SPACES["neumf"], "pretrain": Choice((True,))}
    monkeypatch.setitem(SEARCH_SPACES, "neumf", space)
    result = tune("neumf", ratings, trials=1, verbose=False)
    assert result.best_options["pretrain"] is True
    assert 1 <= result.best_options["pretrain_epochs"] <= MAX_EPOCHS["neumf"]
    assert 1 <= result.best_options["epochs"] <= MAX_EPOCHS["neumf"]


def test_a_tower_halves_its_widths():
    trial = optuna.trial.FixedTrial({"hidden_width": 64, "hidden_layers": 3})
    assert Tower((32, 64), (1, 3)).suggest(trial, "hidden") == {"hidden": (64, 32, 16)}


def test_validation_is_carved_from_train_by_the_task_protocol(ratings):
    inner, validation = split.leave_last_out(ratings)
    carved = tune("ease", ratings, trials=2, verbose=False)
    given = tune("ease", inner, validation=validation, trials=2, verbose=False)
    assert carved.best_value == given.best_value
    assert carved.best_options == given.best_options
    inner, validation = split.random_split(ratings, VALIDATION_FRACTION, seed=3)
    carved = tune("surprise-svd", ratings, trials=2, seed=3, verbose=False)
    given = tune("surprise-svd", inner, validation=validation, trials=2, seed=3, verbose=False)
    assert carved.best_value == given.best_value


def test_the_same_seed_gives_the_same_study(ratings):
    first, second = (tune("als", ratings, trials=3, verbose=False) for _ in range(2))
    assert first.best_options == second.best_options
    assert first.trials["value"].tolist() == second.trials["value"].tolist()


def test_a_study_in_sqlite_resumes_where_it_stopped(ratings, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = tune("ease", ratings, trials=2, storage=storage, verbose=False)
    resumed = tune("ease", ratings, trials=3, storage=storage, verbose=False)
    assert len(resumed.trials) == 3  # one more trial, not three
    assert resumed.trials["l2"].tolist()[:2] == first.trials["l2"].tolist()
    again = tune("ease", ratings, trials=3, storage=storage, verbose=False)
    assert len(again.trials) == 3  # the budget is spent: nothing runs


def test_a_hopeless_trial_is_pruned_after_its_first_epoch(ratings, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="mf", direction="minimize")
    good = {"num_factors": 16, "l2": 0.15, "learning_rate": 0.05, "init_std": 0.1}
    study.enqueue_trial(good)
    study.enqueue_trial({**good, "learning_rate": 3e-3, "l2": 1.0})  # barely moves
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    result = tune("mf", ratings, trials=2, storage=storage, study_name="mf", pruner=pruner)
    assert result.trials["state"].tolist() == ["COMPLETE", "PRUNED"]
    assert result.num_pruned == 1
    epochs = result.trials["epochs"][0]
    assert result.best_options == {**good, **FIXED_EPOCHS, "epochs": epochs}
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("tune mf-torch: trial 1 (2/2) pruned in")
    assert lines[0].startswith("tune mf-torch: trial 0 (1/2) rmse ")


def test_a_factorization_machine_is_tuned_with_its_release_time_fields(
    small, small_content, monkeypatch
):
    built = []
    build = reclearn.registry.build

    def spy(name, backend="torch", **options):
        built.append(options.get("content"))
        return build(name, backend, **options)

    monkeypatch.setattr(reclearn.registry, "build", spy)
    result = tune("fm", small.ratings, content=small_content, trials=2, verbose=False)
    assert result.num_complete + result.num_pruned == 2
    assert len(built) == 2 and all(content is small_content for content in built)
