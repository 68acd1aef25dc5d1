"""Shared fixtures. Training in tests stays tiny: the suite runs in minutes on two cores."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see reclearn/models/torch/__init__.py

import pytest

import reclearn


@pytest.fixture(scope="session")
def movielens():
    """The bundled ml-latest-small (loaded once per session; tests must not mutate it)."""
    return reclearn.load_dataset("ml-latest-small")


@pytest.fixture(scope="session")
def small():
    """A small synthetic data set: 60 users, 50 items, 900 ratings."""
    return reclearn.make_synthetic(num_users=60, num_items=50, density=0.3, seed=0)


@pytest.fixture(scope="session")
def small_content(small):
    """Item content for ``small``: two genres and a decade out of 6 of each."""
    from reclearn.content import item_content

    genres = ["Drama", "Comedy", "Action", "Horror", "Romance", "Sci-Fi"]
    positions = range(len(small.items))
    items = small.items.assign(
        year=[1950 + 10 * (i % 6) for i in positions],
        genres=[[genres[i % 6], genres[(i // 6) % 6]] for i in positions],
    )
    return item_content(items)
