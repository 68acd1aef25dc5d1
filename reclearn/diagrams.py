"""Architecture diagrams drawn with matplotlib: boxes, arrows and the chapters' symbols.

Each function returns a new figure; the caller shows it and closes it. Importing this
module loads nothing: matplotlib (a requirement of the book, not of the package) is
imported when a function is called, and no deep-learning framework ever is.

Introduced in chapter "Matrix factorization".
"""

from __future__ import annotations

BOX = {"boxstyle": "round,pad=0.35", "facecolor": "#eef3fb", "edgecolor": "#34558b"}
"""Style of an ordinary box."""
OUTPUT = {**BOX, "facecolor": "#fdebd3", "edgecolor": "#b5651d"}
"""Style of the box that holds a model's output."""


def _axes(ncols: int = 1, width: float = 7.0, height: float = 3.6):
    """A figure of ``ncols`` empty panels with coordinates from 0 to 1."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    for ax in axes[0]:
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.axis("off")
    return fig, list(axes[0])


def _box(ax, x: float, y: float, text: str, style: dict = BOX):
    """Write ``text`` in a box centred on (x, y); return the text artist."""
    return ax.text(x, y, text, ha="center", va="center", fontsize=10, bbox=style)


def _arrow(ax, start, end) -> None:
    """An arrow from box ``start`` to box ``end``, clipped at the edges of both boxes."""
    ax.annotate(
        "",
        xy=end.get_position(),
        xytext=start.get_position(),
        arrowprops={
            "arrowstyle": "->",
            "color": "#555555",
            "patchA": start.get_bbox_patch(),
            "patchB": end.get_bbox_patch(),
            "shrinkA": 2,
            "shrinkB": 2,
        },
    )


def _embeddings(ax, user: str, item: str, y: float = 0.3) -> tuple:
    """Inputs u and i at the bottom, their looked-up vectors above them."""
    p = _box(ax, 0.25, y, user)
    q = _box(ax, 0.75, y, item)
    _arrow(ax, _box(ax, 0.25, 0.06, "user $u$"), p)
    _arrow(ax, _box(ax, 0.75, 0.06, "item $i$"), q)
    return p, q


def mf_diagram():
    """Biased matrix factorisation: r_hat_ui = mu + b_u + b_i + p_u . q_i."""
    fig, (ax,) = _axes(width=7.0, height=3.4)
    user, item = _box(ax, 0.2, 0.08, "user $u$"), _box(ax, 0.8, 0.08, "item $i$")
    b_u, p_u = _box(ax, 0.08, 0.38, "$b_u$"), _box(ax, 0.3, 0.38, "$p_u$")
    q_i, b_i = _box(ax, 0.7, 0.38, "$q_i$"), _box(ax, 0.92, 0.38, "$b_i$")
    for start, end in ((user, b_u), (user, p_u), (item, q_i), (item, b_i)):
        _arrow(ax, start, end)
    dot = _box(ax, 0.5, 0.6, r"$p_u^\top q_i$")
    mu = _box(ax, 0.12, 0.72, r"$\mu$ (mean rating)")
    _arrow(ax, p_u, dot)
    _arrow(ax, q_i, dot)
    out = _box(ax, 0.5, 0.9, r"$\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i$", OUTPUT)
    for start in (mu, b_u, b_i, dot):
        _arrow(ax, start, out)
    ax.set_title("Biased matrix factorisation")
    return fig


def _gmf(ax) -> None:
    p, q = _embeddings(ax, "$p_u$", "$q_i$")
    product = _box(ax, 0.5, 0.55, r"$p_u \odot q_i$")
    _arrow(ax, p, product)
    _arrow(ax, q, product)
    _arrow(ax, product, _box(ax, 0.5, 0.85, r"$h^\top(\cdot) + b$", OUTPUT))
    ax.set_title("GMF")


def _mlp(ax) -> None:
    p, q = _embeddings(ax, "$p_u$", "$q_i$")
    concat = _box(ax, 0.5, 0.47, r"$z_0 = [p_u ; q_i]$")
    _arrow(ax, p, concat)
    _arrow(ax, q, concat)
    tower = _box(ax, 0.5, 0.68, r"ReLU layers $\to z_L$")
    _arrow(ax, concat, tower)
    _arrow(ax, tower, _box(ax, 0.5, 0.9, r"$h^\top z_L + b$", OUTPUT))
    ax.set_title("MLP")


def _neumf(ax) -> None:
    vectors = [("$u$", "$p_u$"), ("$i$", "$q_i$"), ("$u$", "$p'_u$"), ("$i$", "$q'_i$")]
    boxes = {}
    for x, (source, label) in zip((0.1, 0.34, 0.66, 0.9), vectors, strict=True):
        boxes[label] = _box(ax, x, 0.3, label)
        _arrow(ax, _box(ax, x, 0.06, source), boxes[label])
    product = _box(ax, 0.22, 0.55, r"$p_u \odot q_i$")
    tower = _box(ax, 0.78, 0.55, r"ReLU layers $\to z_L$")
    for label, target in (("$p_u$", product), ("$q_i$", product)):
        _arrow(ax, boxes[label], target)
    for label in ("$p'_u$", "$q'_i$"):
        _arrow(ax, boxes[label], tower)
    out = _box(ax, 0.5, 0.85, r"$h^\top [p_u \odot q_i ; z_L] + b$", OUTPUT)
    _arrow(ax, product, out)
    _arrow(ax, tower, out)
    ax.set_title("NeuMF")


def ncf_diagram():
    """GMF, the MLP tower and NeuMF side by side; each output is a logit."""
    fig, axes = _axes(ncols=3, width=12.0, height=3.6)
    for ax, draw in zip(axes, (_gmf, _mlp, _neumf), strict=True):
        draw(ax)
    fig.tight_layout()
    return fig


def two_tower_diagram():
    """The two-tower model whose item tower is a CNN over the item's tokens."""
    fig, (ax,) = _axes(width=8.0, height=4.6)
    user = _box(ax, 0.15, 0.05, "user $u$")
    p_u = _box(ax, 0.15, 0.55, "$p_u$\n(user tower:\none embedding)")
    _arrow(ax, user, p_u)
    steps = [
        (0.05, "tokens of item $i$ (title, year, genres)"),
        (0.2, r"token vectors $x_1, \dots, x_n$"),
        (0.35, r"convolution, width 3, ReLU: $c_{t,f}$"),
        (0.5, r"max over positions: $m_f = \max_t c_{t,f}$"),
        (0.65, r"projection $W m + c$"),
        (0.8, r"$q_i$ (+ $e_i$ if $i$ was rated: hybrid)"),
    ]
    previous = None
    for y, text in steps:
        current = _box(ax, 0.65, y, text)
        if previous is not None:
            _arrow(ax, previous, current)
        previous = current
    out = _box(ax, 0.35, 0.95, r"$\mathrm{logit}(u, i) = p_u^\top q_i$", OUTPUT)
    _arrow(ax, p_u, out)
    _arrow(ax, previous, out)
    ax.set_title("Two towers; the item tower is a CNN over tokens", pad=18)
    return fig
