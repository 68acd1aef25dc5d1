"""The architecture diagrams: figures with the chapters' symbols, no framework loaded."""

import json
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from reclearn import diagrams

EXPECTED = {
    "mf_diagram": ["$p_u$", "$q_i$", "$b_u$", "$b_i$", r"$\mu$", r"\hat r_{ui}"],
    "ncf_diagram": ["GMF", "MLP", "NeuMF", r"p_u \odot q_i", "ReLU layers", "$p'_u$"],
    "two_tower_diagram": ["$p_u$", "$q_i$", "$e_i$", "convolution", r"\max_t", "logit"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_diagram_is_a_figure_with_the_chapters_symbols(name):
    fig = getattr(diagrams, name)()
    try:
        assert isinstance(fig, Figure)
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        texts += [ax.get_title() for ax in fig.axes]
        for label in EXPECTED[name]:
            assert any(label in text for text in texts), (name, label)
    finally:
        plt.close(fig)


def test_drawing_the_diagrams_loads_no_deep_learning_framework():
    script = (
        "import json, sys, matplotlib; matplotlib.use('Agg'); "
        "from reclearn import diagrams; diagrams.ncf_diagram(); "
        "heavy = ['torch', 'tensorflow', 'keras']; "
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
