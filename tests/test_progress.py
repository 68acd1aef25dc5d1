"""Progress: a live bar in terminals, one summary line in the book, CI and pipes."""

import re

import pytest

import reclearn
from reclearn.progress import progress


@pytest.fixture
def plain(monkeypatch):
    monkeypatch.setenv("RECLEARN_PLAIN_PROGRESS", "1")


def test_plain_progress_prints_one_line_with_the_count_and_postfix(plain, capsys):
    bar = progress(range(3), desc="x", unit="epochs")
    seen = []
    for i in bar:
        seen.append(i)
        bar.set_postfix(loss=0.5 + i, step=i)
    assert seen == [0, 1, 2]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"x: 3/3 epochs in \d+\.\d s, loss 2\.5000, step 2", lines[0])


def test_plain_progress_prints_one_line_when_the_loop_stops_early(plain, capsys):
    bar = progress(range(10), desc="x", unit="epochs")
    for i in bar:
        bar.set_postfix(val_rmse=0.25)
        if i == 3:
            break
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("x: 4/10 epochs in ")
    assert lines[0].endswith(", val_rmse 0.2500")


def test_plain_progress_of_an_iterator_without_length_counts_only(plain, capsys):
    list(progress(iter("abc"), desc="y"))
    assert re.fullmatch(r"y: 3 it in \d+\.\d s\n", capsys.readouterr().out)


def test_disabled_progress_prints_nothing(plain, capsys):
    assert list(progress(range(3), desc="x", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().out == ""


def test_output_that_is_not_a_terminal_gets_plain_progress(monkeypatch, capsys):
    monkeypatch.delenv("RECLEARN_PLAIN_PROGRESS", raising=False)
    list(progress(range(2), desc="z"))
    assert capsys.readouterr().out.startswith("z: 2/2 it in ")


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_verbose_training_prints_exactly_one_line(plain, capsys, small, backend):
    model = reclearn.build("mf", backend, num_factors=2, epochs=2, verbose=True)
    model.fit(small.ratings, validation=small.ratings.sample(50, random_state=0))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.match(rf"mf \({backend}\): 2/2 epochs in \d+\.\d s, loss \d\.\d{{4}}, ", lines[0])
    assert "train_rmse" in lines[0] and "val_rmse" in lines[0]


@pytest.mark.parametrize("backend", ["torch", "tf"])
def test_quiet_training_prints_nothing(plain, capsys, small, backend):
    reclearn.build("mf", backend, num_factors=2, epochs=1, verbose=False).fit(small.ratings)
    assert capsys.readouterr().out == ""
