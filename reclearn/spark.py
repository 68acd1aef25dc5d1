"""Spark MLlib's ALS behind the ``Recommender`` interface (``build("spark-als")``).

Spark runs in the JVM: PySpark starts a local one (``local[*]``, every core of this
machine, no cluster) or connects to a cluster given by ``master``. Training data go to
Spark as index arrays; the learnt factors come back as NumPy arrays, so reclearn's own
splits and metrics judge the model like any other.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pandas as pd

from reclearn.base import TrainingData
from reclearn.baselines import RankingBaseline
from reclearn.checks import check_bool, check_float, check_int

JAVA_MISSING = (
    "Spark needs a Java runtime (17 or 21) and none was found (no `java` on PATH and no "
    "JAVA_HOME); install one with `make java` (Debian's openjdk-17-jre-headless)"
)


def check_java() -> str:
    """The ``java`` executable Spark will use.

    Raises:
        FileNotFoundError: No Java runtime (the message says how to install one).

    Introduced in chapter "Scaling out".
    """
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        raise FileNotFoundError(JAVA_MISSING)
    return java


def spark_session(master: str = "local[*]", driver_memory: str = "2g"):
    """A SparkSession on ``master``: reused if one is running, else started (~8 s).

    Args:
        master: ``"local[*]"`` (every core here), ``"local[2]"``, or a cluster URL
            such as ``"spark://host:7077"``.
        driver_memory: Heap of the driver JVM, e.g. ``"2g"`` (only when it starts).

    Raises:
        FileNotFoundError: No Java runtime.
        ImportError: PySpark is not installed.

    Introduced in chapter "Scaling out".
    """
    check_java()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName("reclearn")
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.cleaner.referenceTracking.cleanCheckpoints", "true")
        .config("spark.driver.extraJavaOptions", "-Xss16m")  # deep lineages, local mode
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # ALS checkpoints its factors every 10 iterations only when a folder is set;
    # without it the lineage grows each iteration, and deserialising it overflowed
    # a task thread's stack in CI (java.lang.StackOverflowError at 15 iterations).
    if spark.sparkContext.getCheckpointDir() is None:
        spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="reclearn-spark-"))
    return spark


class SparkALSRecommender(RankingBaseline):
    """Spark MLlib's ALS (``pyspark.ml.recommendation.ALS``), factors scored in NumPy.

    With ``implicit_prefs`` (the default) it solves the confidence-weighted problem of
    Hu, Koren & Volinsky (2008), as the ``"als"`` model does with the ``implicit``
    library, on the interactions kept by ``threshold``; without it, the explicit
    ratings' squared error. The score of item ``i`` for user ``u`` is ``p_u . q_i``.
    Spark's ALS has no bias terms and scales ``reg_param`` by each row's count.

    Args:
        factors: Length of the user and item vectors (Spark's ``rank``).
        reg_param: Weight of the squared-norm penalty (Spark's ``regParam``).
        alpha: Confidence of an observed interaction (implicit only).
        iterations: Alternating passes (Spark's ``maxIter``).
        implicit_prefs: Implicit feedback (True) or explicit ratings (False).
        threshold: Count only ratings ``>= threshold`` (default: every rating).
        master: Where Spark runs: ``"local[*]"`` or a cluster URL.
        seed: Seed of the initial vectors.

    Introduced in chapter "Scaling out".
    """

    name = "spark-als"

    def __init__(
        self,
        factors: int = 64,
        reg_param: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        implicit_prefs: bool = True,
        threshold: float | None = None,
        master: str = "local[*]",
        seed: int = 0,
    ) -> None:
        super().__init__(threshold)
        self.factors = check_int("factors", factors, minimum=1, maximum=4096)
        self.reg_param = check_float("reg_param", reg_param, minimum=0)
        self.alpha = check_float("alpha", alpha, positive=True)
        self.iterations = check_int("iterations", iterations, minimum=1, maximum=1000)
        self.implicit_prefs = check_bool("implicit_prefs", implicit_prefs)
        if not isinstance(master, str) or not master:
            raise ValueError(
                f"master must be a Spark master URL such as 'local[*]'; got {master!r}"
            )
        self.master = master
        self.seed = check_int("seed", seed, minimum=0)

    def _fit_model(self, matrix, data: TrainingData, validation) -> None:
        from pyspark.ml.recommendation import ALS

        spark = spark_session(self.master)
        if self.implicit_prefs:
            coo = matrix.tocoo()
            frame = pd.DataFrame({"user": coo.row, "item": coo.col, "rating": coo.data})
        else:
            explicit = {"user": data.users, "item": data.items, "rating": data.ratings}
            frame = pd.DataFrame(explicit)
        frame = frame.astype({"user": np.int32, "item": np.int32, "rating": np.float32})
        als = ALS(
            rank=self.factors,
            maxIter=self.iterations,
            regParam=self.reg_param,
            alpha=self.alpha,
            implicitPrefs=self.implicit_prefs,
            seed=self.seed,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
        )
        blocks = spark.sparkContext.defaultParallelism  # one block per core, not 10
        als.setNumUserBlocks(blocks).setNumItemBlocks(blocks)
        fitted = als.fit(spark.createDataFrame(frame))
        self.user_factors_ = _factors(fitted.userFactors, data.num_users, self.factors)
        self.item_factors_ = _factors(fitted.itemFactors, data.num_items, self.factors)

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """``p_u . q_i`` of every item, shape (len(users), num_items)."""
        return self.user_factors_[np.asarray(users)] @ self.item_factors_.T

    def _score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        p_u = self.user_factors_[np.asarray(users)]
        q_i = self.item_factors_[np.asarray(items)]
        return np.einsum("nk,nk->n", p_u, q_i)

    def __repr__(self) -> str:
        return (
            f"SparkALSRecommender(factors={self.factors}, reg_param={self.reg_param}, "
            f"alpha={self.alpha}, iterations={self.iterations}, "
            f"implicit_prefs={self.implicit_prefs}, master={self.master!r})"
        )


def _factors(spark_frame, size: int, factors: int) -> np.ndarray:
    """Spark's (id, features) rows as a (size, factors) array; absent ids get zeros."""
    rows = spark_frame.toPandas()
    out = np.zeros((size, factors))
    if len(rows):
        out[rows["id"].to_numpy()] = np.stack(rows["features"].to_numpy())
    return out
