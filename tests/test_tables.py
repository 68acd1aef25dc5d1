"""reclearn.tables.show: escaped text, formatted numbers, loud errors."""

import pandas as pd
import pytest

from reclearn import tables
from reclearn.checks import ArgumentTypeError

FRAME = pd.DataFrame({"token": ["<oov>", "a&b"], "score": [0.12345, -1.5], "n": [3, 4]})


def test_text_is_escaped_so_a_token_in_angle_brackets_shows_as_itself():
    html = tables.show(FRAME, index=False).to_html()
    assert "&lt;oov&gt;" in html and "a&amp;b" in html
    assert "<oov>" not in html


def test_numbers_get_the_column_format_or_the_default_digits():
    html = tables.show(FRAME, {"score": "{:+.2f}"}, digits=1).to_html()
    assert "+0.12" in html and "-1.50" in html and ">3<" in html
    assert ">0.1<" in tables.show(FRAME, digits=1).to_html()


def test_a_format_string_applies_to_every_numeric_column_and_the_index_is_escaped():
    html = tables.show(FRAME.set_index("token"), "{:.1f}").to_html()
    assert "&lt;oov&gt;" in html and ">3.0<" in html and ">-1.5<" in html


def test_bad_arguments_fail_loudly_naming_what_is_wrong():
    with pytest.raises(KeyError, match=r"\['missing'\]"):
        tables.show(FRAME, {"missing": "{:.1f}"})
    with pytest.raises(ArgumentTypeError, match="DataFrame"):
        tables.show(FRAME.to_dict())
    with pytest.raises(ArgumentTypeError, match="format string"):
        tables.show(FRAME, ["{:.1f}"])
