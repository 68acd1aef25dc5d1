"""Item content as features: titles, years, genres and (post-release only) tags, turned into
TF-IDF vectors or token sequences for neural encoders, and a content-based recommender built
on user profiles.

Content comes in two kinds of signal. *Release-time* content (the default) holds only what
exists the day an item enters the catalogue: title, year, genres. *Post-release* content
adds what users write after watching (tags, and how many users tagged the item); a new item
has none of it, so it belongs in labelled experiments, never in an item cold-start headline.

NumPy, pandas and (imported when used) scikit-learn only: both backends' content networks
read the token arrays made here. Nothing in this module looks at ratings except
:class:`ContentRecommender`, whose profiles are built from the training ratings it is given;
TF-IDF vocabularies and token vocabularies are fitted on item text alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reclearn.base import Recommender, TrainingData
from reclearn.configs import ContentConfig
from reclearn.interactions import as_categorical_ids, validate_ratings

PAD, OOV = 0, 1
"""Token indices reserved for padding and for tokens outside the vocabulary."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

SIGNALS = ("release", "post-release")
"""The kinds of item content :func:`item_content` builds (see the module docstring)."""
RELEASE_FIELDS = ("item_id", "title", "year", "genres")
"""The columns of release-time content: all exist before anyone has seen the item."""
POST_RELEASE_FIELDS = ("tags", "taggers")
"""The columns post-release content adds: written by users after they watched the item."""


@dataclass
class ItemContent:
    """What we know about each item besides its ratings.

    Introduced in chapter "Content-based recommendation".
    """

    frame: pd.DataFrame
    """One row per item: ``item_id`` (str), ``title``, ``year`` (Int64, may be missing) and
    ``genres`` (list of str); post-release content adds ``tags`` (list of distinct
    lower-cased tags, may be empty) and ``taggers`` (distinct users who tagged the item)."""
    signals: str = "release"
    """``"release"`` or ``"post-release"`` (see :data:`SIGNALS`)."""

    @property
    def item_ids(self) -> pd.Index:
        return pd.Index(self.frame["item_id"], dtype=object)

    @property
    def num_without_tags(self) -> int:
        """Items that nobody tagged (post-release content only).

        Raises:
            ValueError: The content is release-time, which knows nothing of tags.
        """
        self._require_post_release("num_without_tags")
        return int((self.frame["tags"].map(len) == 0).sum())

    def _require_post_release(self, what: str) -> None:
        if self.signals != "post-release":
            raise ValueError(
                f"{what} needs post-release content (tags); this content is "
                f"{self.signals!r}: build it with item_content(items, tags, "
                "signals='post-release')"
            )

    @property
    def num_without_genres(self) -> int:
        """Items with no genre listed."""
        return int((self.frame["genres"].map(len) == 0).sum())

    def align(self, item_ids) -> ItemContent:
        """The rows of ``item_ids``, in that order.

        Raises:
            ValueError: An item id has no content row (the message names it).
        """
        item_ids = pd.Index([str(i) for i in item_ids], dtype=object)
        position = self.item_ids.get_indexer(item_ids)
        if (position < 0).any():
            missing = item_ids[position < 0]
            raise ValueError(
                f"{len(missing)} item id(s) have no content, e.g. {missing[0]!r}; "
                "build the content from the same data set as the ratings"
            )
        frame = self.frame.iloc[position].reset_index(drop=True)
        return ItemContent(frame, self.signals)

    def documents(self, use_tags: bool = True) -> list[list[str]]:
        """Each item as a list of tokens: genres, decade, title words, then any tags.

        Genres, decades and tags keep a prefix (``genre:comedy``, ``decade:1990s``,
        ``tag:pixar``), so a feature name says where it came from; title words have none.
        Tags come only from post-release content, and only with ``use_tags``.
        """
        with_tags = use_tags and self.signals == "post-release"
        docs = []
        for row in self.frame.itertuples(index=False):
            doc = [f"genre:{g.lower()}" for g in row.genres]
            if not pd.isna(row.year):
                doc.append(f"decade:{int(row.year) // 10 * 10}s")
            doc += _WORD.findall(str(row.title).lower())
            if with_tags:
                doc += [f"tag:{t}" for t in row.tags]
            docs.append(doc)
        return docs


def item_content(
    items: pd.DataFrame, tags: pd.DataFrame | None = None, signals: str = "release"
) -> ItemContent:
    """The content of every item, from a data set's ``items`` and ``tags`` frames.

    Args:
        items: ``item_id, title, year, genres`` as loaded by
            :func:`reclearn.load_dataset`.
        tags: ``user_id, item_id, tag, ...``; only with ``signals="post-release"``
            (may be empty: then no item has tags).
        signals: ``"release"`` (default): title, year and genres, what exists the day an
            item is released, the only honest input for item cold start.
            ``"post-release"``: also each item's distinct tags and the number of
            distinct users who tagged it, written after watching; for labelled
            experiments only.

    Returns:
        An :class:`ItemContent` with one row per item of ``items``.

    Raises:
        ValueError: A required column is missing, ``signals`` is unknown, tags are given
            for release-time content, or post-release content has no tags frame.

    Introduced in chapter "Content-based recommendation".
    """
    if signals not in SIGNALS:
        raise ValueError(f"signals must be one of {SIGNALS}, got {signals!r}")
    if signals == "release" and tags is not None:
        raise ValueError(
            "tags are written by users after they watch an item, so a new item "
            "has none; release-time content leaves them out: drop the tags "
            "argument, or pass signals='post-release' for a labelled post-release "
            "experiment"
        )
    if signals == "post-release" and tags is None:
        call = "item_content(items, tags)"
        raise ValueError(f"post-release content needs the tags frame: {call}")
    missing = [c for c in RELEASE_FIELDS if c not in items.columns]
    if missing:
        has = list(items.columns)
        raise ValueError(f"items is missing column(s) {missing}; it has {has}")
    frame = pd.DataFrame(
        {
            "item_id": items["item_id"].astype(str).astype(object).to_numpy(),
            "title": items["title"].astype(str).to_numpy(),
            "year": pd.array(items["year"], dtype="Int64"),
            "genres": [list(g) for g in items["genres"]],
        }
    )
    if signals == "release":
        return ItemContent(frame, signals)
    by_item, taggers = _tags_by_item(tags)
    frame["tags"] = [by_item.get(i, []) for i in frame["item_id"]]
    frame["taggers"] = [taggers.get(i, 0) for i in frame["item_id"]]
    return ItemContent(frame, signals)


def _tags_by_item(tags: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Each item's sorted distinct tags and its number of distinct taggers."""
    if not len(tags):
        return {}, {}
    missing = [c for c in ("user_id", "item_id", "tag") if c not in tags.columns]
    if missing:
        raise ValueError(f"tags is missing column(s) {missing}; it has {list(tags.columns)}")
    clean = pd.DataFrame(
        {
            "user_id": tags["user_id"].astype(str).to_numpy(),
            "item_id": tags["item_id"].astype(str).to_numpy(),
            "tag": tags["tag"].astype(str).str.lower().str.strip().to_numpy(),
        }
    )
    by_item = clean[["item_id", "tag"]].drop_duplicates().groupby("item_id", sort=False)["tag"]
    taggers = clean.groupby("item_id", sort=False)["user_id"].nunique()
    return by_item.agg(sorted).to_dict(), taggers.astype(int).to_dict()


def tfidf_features(content: ItemContent, min_df: int = 2, use_tags: bool = True):
    """TF-IDF vectors of the items' documents (scikit-learn), rows of unit length.

    Fitted on item text only: which items were rated, and how, never enters.

    Returns:
        ``(features, names)``: a sparse matrix (num_items, num_features) and the feature
        names (tokens).

    Introduced in chapter "Content-based recommendation".
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True)
    docs = content.documents(use_tags)
    try:
        features = vectorizer.fit_transform(docs)
    except ValueError:  # no token reaches min_df
        vectorizer = TfidfVectorizer(analyzer=_identity, min_df=1, sublinear_tf=True)
        features = vectorizer.fit_transform(docs)
    return features.tocsr().astype(np.float64), np.asarray(vectorizer.get_feature_names_out())


def _identity(document):
    return document


def token_matrix(
    content: ItemContent, max_tokens: int = 16, min_count: int = 2, use_tags: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Each item's document as a row of token indices, padded with ``PAD``.

    Tokens seen in fewer than ``min_count`` items map to ``OOV``; longer documents are cut
    after ``max_tokens`` tokens (tags come last, so they are cut first).

    Returns:
        ``(tokens, vocabulary)``: int64 array (num_items, max_tokens) and the vocabulary,
        whose entries 0 and 1 are ``"<pad>"`` and ``"<oov>"``.

    Introduced in chapter "Content-based recommendation".
    """
    if max_tokens < 1 or min_count < 1:
        raise ValueError("max_tokens and min_count must be at least 1")
    docs = [doc[:max_tokens] for doc in content.documents(use_tags)]
    counts = pd.Series([t for doc in docs for t in set(doc)], dtype=object).value_counts()
    vocabulary = ["<pad>", "<oov>", *sorted(counts.index[counts >= min_count])]
    lookup = {token: n for n, token in enumerate(vocabulary)}
    tokens = np.full((len(docs), max_tokens), PAD, dtype=np.int64)
    for row, doc in enumerate(docs):
        tokens[row, : len(doc)] = [lookup.get(t, OOV) for t in doc]
    return tokens, vocabulary


class ContentItems:
    """Mixin for recommenders that score items from content: every content item is known.

    ``fit`` re-indexes the training items over all items of ``content`` (so an item with
    no training rating still has an index and a score) and afterwards marks every item as
    scorable. ``warm`` keeps which items had training ratings.

    Introduced in chapter "Content-based recommendation".
    """

    content: ItemContent | None

    def fit(self, train: pd.DataFrame, validation=None, rating_scale=None):
        if self.content is None:
            raise ValueError(
                f"{type(self).__name__} needs item content: build it with "
                "content=reclearn.content.item_content(dataset.items)"
            )
        validate_ratings(train, rating_scale, what="train")  # before reading its ids
        train = _over_content_items(train, self.content)
        if validation is not None:
            validate_ratings(validation, rating_scale, what="validation")
            validation = _over_content_items(validation, self.content)
        super().fit(train, validation, rating_scale)
        self.warm = self.item_known.copy()
        self.item_known = np.ones(self.index.num_items, dtype=bool)
        return self

    def _aligned_content(self) -> ItemContent:
        return self.content.align(self.index.item_ids)


def _over_content_items(frame: pd.DataFrame, content: ItemContent) -> pd.DataFrame:
    """``frame`` with ``item_id`` as a categorical over the content's items."""
    ids = frame["item_id"].astype(str)
    unknown = ~ids.isin(set(content.item_ids))
    if unknown.any():
        raise ValueError(
            f"{int(unknown.sum())} rating(s) name an item without content, e.g. item_id "
            f"{ids[unknown].iloc[0]!r}"
        )
    return frame.assign(item_id=as_categorical_ids(frame["item_id"], content.item_ids))


class ContentRecommender(ContentItems, Recommender):
    """Content-based recommendation: user profile = weighted mean of rated items' features.

    With item features x_i (TF-IDF, unit rows) and weights w_ui = r_ui - r̄_u, the profile
    is ``p_u = sum_i w_ui x_i / sum_i |w_ui|`` and an item's score is ``p_u . x_i``. A user
    whose weights are all zero (one rating, or all ratings equal) gets weight 1 for each.

    Introduced in chapter "Content-based recommendation".
    """

    name = "content-tfidf"
    clip_predictions = False
    config_class = ContentConfig

    def __init__(self, config: ContentConfig | None = None, content: ItemContent | None = None):
        super().__init__()
        self.config = config or ContentConfig()
        self.content = content

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        from scipy import sparse

        config = self.config
        self.features, self.feature_names = tfidf_features(
            self._aligned_content(), config.min_df, config.use_tags
        )
        weights = profile_weights(data.users, data.ratings, data.num_users, config.centre)
        rated = sparse.csr_matrix(
            (weights, (data.users, data.items)), shape=(data.num_users, data.num_items)
        )
        total = np.asarray(abs(rated).sum(axis=1)).ravel()
        scale = sparse.diags(1.0 / np.maximum(total, 1e-12))
        self.profiles = (scale @ rated @ self.features).tocsr()
        popularity = np.bincount(data.items, minlength=data.num_items)
        self._user_bias = np.zeros(data.num_users)
        self._item_bias = np.log1p(popularity).astype(np.float64)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(0, zeros, log(1 + ratings per item)): unknown users get popular items."""
        return 0.0, self._user_bias, self._item_bias

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return (self.profiles[users] @ self.features.T).toarray()

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        products = self.profiles[users].multiply(self.features[items])
        return np.asarray(products.sum(axis=1)).ravel()

    def explain(self, user_id, item_id, top: int = 3) -> pd.DataFrame:
        """The features that contribute most to a user's score for an item.

        Returns:
            Up to ``top`` rows ``feature, profile, item, contribution`` (profile weight times
            item weight), largest contribution first; only positive contributions.

        Raises:
            ValueError: The user or item is unknown to the model.
        """
        self.check_fitted()
        user = int(self.index.users([str(user_id)])[0])
        item = int(self.index.items([str(item_id)])[0])
        if user < 0 or not self.user_known[user]:
            raise ValueError(f"user {user_id!r} has no training ratings: no profile to explain")
        if item < 0:
            raise ValueError(f"item {item_id!r} is not in the content the model was given")
        profile = self.profiles[user].toarray().ravel()
        values = self.features[item].toarray().ravel()
        contribution = profile * values
        order = np.argsort(-contribution, kind="stable")[:top]
        order = order[contribution[order] > 0]
        return pd.DataFrame(
            {
                "feature": self.feature_names[order],
                "profile": profile[order],
                "item": values[order],
                "contribution": contribution[order],
            }
        )


def profile_weights(
    users: np.ndarray, ratings: np.ndarray, num_users: int, centre: bool = True
) -> np.ndarray:
    """Weight of each rating in its user's profile: rating minus the user's mean rating.

    A user whose centred weights are all zero (a single rating, or all ratings equal) gets
    weight 1 on every rating instead, so the profile is the plain mean of the features.

    Introduced in chapter "Content-based recommendation".
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    if not centre:
        return np.ones_like(ratings)
    counts = np.bincount(users, minlength=num_users)
    means = np.bincount(users, ratings, num_users) / np.maximum(counts, 1)
    weights = ratings - means[users]
    flat = np.bincount(users, np.abs(weights), num_users) < 1e-9
    return np.where(flat[users], 1.0, weights)


class TaggerCountRecommender(ContentItems, Recommender):
    """The non-personalised control for post-release signals: an item's score is the
    number of distinct users who tagged it, the same for every user.

    It reads no rating and no text, only how many people cared to tag an item, which
    they do after watching it. Where it scores close to a content model, that model's
    lead comes from the same post-release signal, not from reading content.

    Raises:
        ValueError: On ``fit``, if the content is not post-release (it has no taggers).

    Introduced in chapter "Content-based recommendation".
    """

    name = "tag-count"
    clip_predictions = False

    def __init__(self, content: ItemContent | None = None):
        super().__init__()
        self.content = content

    def _fit(self, data: TrainingData, validation: TrainingData | None) -> None:
        content = self._aligned_content()
        content._require_post_release(type(self).__name__)
        self.taggers_ = content.frame["taggers"].to_numpy(np.float64)
        self._user_bias = np.zeros(data.num_users)

    def _biases(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(0, zeros, taggers per item): unknown users get the same ranking."""
        return 0.0, self._user_bias, self.taggers_

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.taggers_, (len(users), 1))

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.taggers_[np.asarray(items)]
