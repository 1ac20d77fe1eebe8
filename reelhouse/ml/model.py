"""The nightly retrain: LightGBM on a window of training examples, validated on the next day, tracked
and registered in MLflow, promoted champion/challenger with every decision audited.

- :func:`evaluate` — metrics of scores against labels (one validation day):
  ``auc`` (ROC AUC, Mann–Whitney), ``log_loss``, ``normalized_entropy`` (log loss / entropy of the
  base rate; He et al. 2014, "Practical Lessons from Predicting Clicks on Ads at Facebook"),
  ``calibration`` (mean prediction / observed rate), ``ndcg_at_10`` (per user, binary gains,
  Järvelin & Kekäläinen 2002, averaged over users with at least one positive), ``rows``,
  ``positive_rate``.
- :func:`retrain` — train on ``window_days`` days ending the day before ``valid_day`` (time split,
  never random), score the validation day with the challenger, the current champion and the
  popularity baseline (``video_views_7d``: how often the video was played over the last week), log
  params / metrics (overall and per cohort: new users, new videos, trending videos) / the dataset
  manifests / the model to MLflow, register a model version, and move the ``champion`` alias to
  it only when the day's quality gate passed and it beats the champion's AUC on the same
  validation rows by ``margin``. Every decision (promoted or not, with its reason) is a row of
  ``ml.model_promotions``.
- :func:`rollback` — move ``champion`` back to the previous champion, recorded the same way.

MLflow is embedded by default: a SQLite tracking and registry store and artifacts under
``<lake>/_mlflow/`` (``MLFLOW_TRACKING_URI`` overrides it for a server).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.config import Config
    from reelhouse.lake import Lake

MODEL_NAME = "reelhouse_ranking"
CHAMPION = "champion"
PROMOTIONS_TABLE = "ml.model_promotions"
COHORTS = ("is_new_user", "is_new_video", "is_trending_video")
BASELINE_FEATURE = "video_views_7d"
PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 50,
    "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "seed": 7, "deterministic": True, "force_col_wise": True, "num_threads": 2, "verbose": -1,
}
NUM_ROUNDS = 200


class ModelError(RuntimeError):
    """No data to train or validate on, or no champion to roll back to."""


class NotEnoughDataError(ModelError):
    """The training window or the validation day has no rows, or a single label class (the
    lake's first day; a day whose examples are all one label): nothing to decide, a skip."""


def feature_columns() -> list[str]:
    """The model's inputs: every numeric feature column of ``gold.training_examples`` (user_*,
    video_*, creator_*, user_video_interest*), not labels, ids, times or cohort flags."""
    import pyarrow as pa

    from reelhouse.lake.catalog import get_table

    out = []
    for f in get_table("gold.training_examples").arrow_schema():
        if f.name.endswith("_feature_time") or not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)):
            continue
        if f.name.startswith(("user_", "video_", "creator_")):
            out.append(f.name)
    return out


# ------------------------------------------------------------------ metrics
def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC via the Mann–Whitney U statistic with tie-averaged ranks; NaN with one class."""
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(p)
    return float((r[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def ndcg_at_k(y: np.ndarray, p: np.ndarray, groups: np.ndarray, k: int = 10) -> float:
    """Mean over groups (users) with at least one positive of DCG@k / ideal DCG@k, binary gains,
    discount 1/log2(rank + 1); ties in ``p`` broken by row order."""
    import pandas as pd

    df = pd.DataFrame({"g": groups, "y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    df = df[df.groupby("g")["y"].transform("sum") > 0]
    if df.empty:
        return float("nan")
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    df = df.sort_values(["g", "p"], ascending=[True, False], kind="stable")
    df["r"] = df.groupby("g").cumcount()
    top = df[df.r < k]
    dcg = (top.y * disc[top.r.to_numpy()]).groupby(top.g).sum()
    npos = df.groupby("g").y.sum().clip(upper=k).astype(int)
    ideal = npos.map(lambda n: disc[:n].sum())
    return float((dcg / ideal.loc[dcg.index]).mean())


def evaluate(y: np.ndarray, p: np.ndarray, users: np.ndarray, *, k: int = 10) -> dict[str, float]:
    """Metrics of probabilities ``p`` (n,) against 0/1 labels ``y`` (n,) for ``users`` (n,)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    n = len(y)
    rate = float(y.mean()) if n else float("nan")
    ll = float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()) if n else float("nan")
    base = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate)) if 0 < rate < 1 else float("nan")
    return {"rows": float(n), "positive_rate": rate, "auc": auc(y, p), "log_loss": ll,
            "normalized_entropy": ll / base if base == base else float("nan"),
            "calibration": float(p.mean() / rate) if rate else float("nan"),
            f"ndcg_at_{k}": ndcg_at_k(y, p, users, k)}


def popularity_scores(views_7d: np.ndarray) -> np.ndarray:
    """The popularity baseline's score from the videos' plays over the last 7 days (``(n,)``,
    NaN when unknown): ``log1p`` of it (0 when unknown), as a pseudo-probability in (0, 1) for the
    ranking metrics."""
    v = np.log1p(np.nan_to_num(np.asarray(views_7d, dtype=float), nan=0.0))
    return v / (v.max() + 1.0) if len(v) else v


# ------------------------------------------------------------------ data
@dataclass
class Examples:
    """``gold.training_examples`` rows as the retrain uses them, built from Arrow column by column
    (no pandas frame, no copy of the days beside the matrix).

    ``X``: ``(rows, len(feature_columns()))`` float32, NaN where a feature is NULL (LightGBM's
    missing value); ``labels``: label column → ``(rows,)`` int8 0/1; ``cohorts``: cohort flag →
    ``(rows,)`` bool; ``users``: ``(rows,)`` int32 codes of ``user_id`` (equal codes = same user;
    for per-user ranking metrics) or None when not asked for. Rows are in (``ds``, ``example_id``)
    order, so the same days always give the same matrix."""

    X: np.ndarray
    labels: dict[str, np.ndarray]
    cohorts: dict[str, np.ndarray]
    users: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def column(self, name: str) -> np.ndarray:
        """A feature column of ``X`` as float64 (NaN = NULL)."""
        return self.X[:, feature_columns().index(name)].astype(np.float64)


def load_examples(lake: "Lake", days: Sequence[date], *, labels: Sequence[str] = ("label_complete",),
                  users: bool = False) -> Examples:
    """The :class:`Examples` of ``days``: one day at a time is read (only the feature, label,
    cohort and, with ``users``, ``user_id`` columns) and written into the preallocated matrix, so
    peak memory is the float32 matrix plus one day's columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = "gold.training_examples"
    feats = feature_columns()
    wanted = [*feats, *labels, *COHORTS, "example_id", *(["user_id"] if users else [])]
    days = sorted(days)
    n = lake.arrow_dataset(table, where={"ds": list(days)}).count_rows() if lake.exists(table) else 0
    X = np.empty((n, len(feats)), dtype=np.float32)
    lab = {c: np.empty(n, dtype=np.int8) for c in labels}
    coh = {c: np.empty(n, dtype=bool) for c in COHORTS}
    user_ids: list[pa.Array] = []
    i = 0
    for day in days:
        t = lake.read_arrow(table, where={"ds": day}, columns=wanted)
        m = t.num_rows
        if not m:
            continue
        order = pc.sort_indices(t.column("example_id"))
        for j, c in enumerate(feats):
            X[i:i + m, j] = t.column(c).take(order).cast(pa.float64()).to_numpy(zero_copy_only=False)
        for c in labels:
            lab[c][i:i + m] = t.column(c).take(order).to_numpy(zero_copy_only=False)
        for c in COHORTS:
            coh[c][i:i + m] = t.column(c).take(order).to_numpy(zero_copy_only=False)
        if users:
            user_ids.append(t.column("user_id").take(order).combine_chunks())
        i += m
        del t
    X, lab, coh = X[:i], {c: v[:i] for c, v in lab.items()}, {c: v[:i] for c, v in coh.items()}
    codes = None
    if users:
        uid = pa.chunked_array(user_ids, pa.string()) if user_ids else pa.chunked_array([], pa.string())
        codes = pc.dictionary_encode(uid).combine_chunks().indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return Examples(X=X, labels=lab, cohorts=coh, users=codes)


# ------------------------------------------------------------------ MLflow
def tracking_uri(config: "Config") -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store ``<lake>/_mlflow/mlflow.db`` (for a
    lake on an object store: in the lake's local state folder,
    :func:`reelhouse.serving.writers.local_state_dir`; share runs between machines with a tracking
    server, ``MLFLOW_TRACKING_URI``)."""
    import os

    from reelhouse.serving.writers import local_state_dir

    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    root = Path(local_state_dir(config.paths.lake)) / "_mlflow"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


def artifact_location(config: "Config") -> str:
    """Where the experiment's artifacts (models, metrics files) go: ``<lake>/_mlflow/artifacts`` —
    a ``file://`` URI, or ``s3://bucket/…`` for a lake on an object store (MLflow's S3 artifact
    store, through boto3; :func:`_s3_artifact_env` gives it the store's endpoint and key pair)."""
    from reelhouse.objectstore import delta_uri, is_object_store_uri, join

    if is_object_store_uri(config.paths.lake):
        return delta_uri(join(config.paths.lake, "_mlflow", "artifacts"))
    return (Path(config.paths.lake) / "_mlflow" / "artifacts").as_uri()


def _s3_artifact_env(config: "Config") -> None:
    """For a lake on an object store: the variables boto3 (MLflow's S3 artifact store) reads —
    ``MLFLOW_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (from
    :func:`reelhouse.objectstore.s3_credentials`), ``AWS_DEFAULT_REGION`` — set in this process
    where unset (never written anywhere)."""
    import os

    from reelhouse.objectstore import is_object_store_uri, s3_credentials

    if not is_object_store_uri(config.paths.lake):
        return
    store = config.object_store
    if store.endpoint:
        os.environ.setdefault("MLFLOW_S3_ENDPOINT_URL", store.endpoint)
    os.environ.setdefault("AWS_DEFAULT_REGION", store.region)
    creds = s3_credentials(store)
    if creds is not None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", creds.access_key)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", creds.secret_key)
        if creds.session_token:
            os.environ.setdefault("AWS_SESSION_TOKEN", creds.session_token)


def _mlflow(config: "Config"):
    import logging
    import os

    import mlflow

    # MLflow and the SQLite store's alembic migrations log INFO to stderr, which Airflow shows as
    # ERROR lines in the task log: warnings and errors only
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri, user_uri = tracking_uri(config), os.environ.get("MLFLOW_TRACKING_URI")
    _s3_artifact_env(config)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI (for child processes): put the
    # variable back as the user had it, or the next lake this process (or a child it starts)
    # opens would read and write this lake's registry
    if user_uri is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = user_uri
    name = "reelhouse_retrain"
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=artifact_location(config))
    mlflow.set_experiment(name)
    return mlflow


def champion_version(config: "Config") -> int | None:
    """The registered version the ``champion`` alias points at, None when there is none."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    _mlflow(config)
    try:
        return int(MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except MlflowException:
        return None


def load_version(config: "Config", version: int):
    """The LightGBM booster of a registered model version."""
    mlflow = _mlflow(config)
    return mlflow.lightgbm.load_model(f"models:/{MODEL_NAME}/{version}")


# ------------------------------------------------------------------ retrain
@dataclass
class RetrainResult:
    """What a retrain did: the run and version, per-model metrics on the validation day
    (``challenger``, ``champion`` when there was one, ``baseline``), cohort metrics of the
    challenger, and the promotion decision with its reason."""

    run_id: str
    version: int
    valid_day: date
    train_days: list[date]
    metrics: dict[str, dict[str, float]]
    cohorts: dict[str, dict[str, float]]
    promoted: bool
    reason: str
    seconds: float = 0.0
    manifests: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable report: the decision with its reason, then the metrics table (AUC, NDCG@10 per model and cohort)."""
        lines = [f"retrain → {MODEL_NAME} v{self.version} (run {self.run_id}); train {self.train_days[0]}..{self.train_days[-1]}, "
                 f"validate {self.valid_day}; {'PROMOTED' if self.promoted else 'not promoted'}: {self.reason}"]
        for who, m in self.metrics.items():
            lines.append(f"  {who:<10} AUC {m['auc']:.4f}  NDCG@10 {m['ndcg_at_10']:.4f}  log loss {m['log_loss']:.4f}  "
                         f"NE {m['normalized_entropy']:.4f}  calibration {m['calibration']:.3f}  rows {int(m['rows']):,}")
        for c, m in self.cohorts.items():
            lines.append(f"  cohort {c:<18} AUC {m['auc']:.4f}  NDCG@10 {m['ndcg_at_10']:.4f}  rows {int(m['rows']):,}")
        return "\n".join(lines)


def retrain(lake: "Lake", config: "Config", valid_day: date, *, window_days: int = 3, label: str = "label_complete",
            margin: float = 0.002, require_gate: bool = True, params: Mapping[str, Any] | None = None,
            num_rounds: int = NUM_ROUNDS) -> RetrainResult:
    """Train a challenger on ``window_days`` days before ``valid_day``, validate on ``valid_day``
    and decide its promotion (see module doc). ``margin``: AUC points the challenger must gain over
    the champion; ``require_gate``: promotion needs a pass/warn gate verdict for ``valid_day``.
    Raises :class:`NotEnoughDataError` (a :class:`ModelError`) when the window or the validation day
    has no rows or one class — e.g. the lake's first day, which has no training window yet."""
    import lightgbm as lgb

    from reelhouse.quality.gate import gate_status

    t0 = time.time()
    train_days = [valid_day - timedelta(days=k) for k in range(window_days, 0, -1)]
    train = load_examples(lake, train_days, labels=[label])
    valid = load_examples(lake, [valid_day], labels=[label], users=True)
    for name, ex in (("training window", train), ("validation day", valid)):
        classes = int(np.unique(ex.labels[label]).size)
        if len(ex) == 0 or classes < 2:
            raise NotEnoughDataError(f"{name} has {len(ex)} rows and {classes} label class(es)")
    p = {**PARAMS, **(params or {})}
    # the binned Dataset is built from the float32 matrix, which is then freed (free_raw_data)
    dtrain = lgb.Dataset(train.X, label=train.labels[label], feature_name=feature_columns(), free_raw_data=True)
    booster = lgb.train(p, dtrain, num_boost_round=num_rounds)
    del train, dtrain
    y, users = valid.labels[label].astype(float), valid.users
    scores = {"challenger": booster.predict(valid.X)}
    champ = champion_version(config)
    if champ is not None:
        scores["champion"] = load_version(config, champ).predict(valid.X)
    scores["baseline"] = popularity_scores(valid.column(BASELINE_FEATURE))
    metrics = {who: evaluate(y, s, users) for who, s in scores.items()}
    cohorts = {}
    for c in COHORTS:
        m = valid.cohorts[c]
        if m.any():
            cohorts[c] = evaluate(y[m], scores["challenger"][m], users[m])
    manifests = _manifests(lake, [*train_days, valid_day])
    mlflow = _mlflow(config)
    with mlflow.start_run(run_name=f"retrain-{valid_day}") as run:
        mlflow.log_params({**{k: v for k, v in p.items()}, "num_rounds": num_rounds, "label": label,
                           "window_days": window_days, "valid_day": valid_day.isoformat(), "margin": margin,
                           "features": ",".join(feature_columns())})
        for who, m in metrics.items():
            mlflow.log_metrics({f"{who}_{k}": v for k, v in m.items() if v == v})
        for c, m in cohorts.items():
            mlflow.log_metrics({f"challenger_{c}_{k}": v for k, v in m.items() if v == v})
        mlflow.log_dict({"manifests": manifests}, "dataset_manifests.json")
        # the registry prints "Successfully registered model …" to stderr, which Airflow shows as an
        # ERROR line: it is information, so it goes to stdout
        with contextlib.redirect_stderr(sys.stdout):
            info = mlflow.lightgbm.log_model(booster, name="model", registered_model_name=MODEL_NAME)
        run_id = run.info.run_id
    version = int(info.registered_model_version)
    gate = gate_status(lake, valid_day)
    ch = metrics["challenger"]["auc"]
    if require_gate and gate not in ("pass", "warn"):
        promoted, reason = False, f"quality gate for {valid_day} is {gate or 'missing'}"
    elif champ is None:
        promoted, reason = True, f"no champion yet (challenger AUC {ch:.4f})"
    elif ch >= metrics["champion"]["auc"] + margin:
        promoted, reason = True, f"challenger AUC {ch:.4f} >= champion v{champ} {metrics['champion']['auc']:.4f} + {margin}"
    else:
        promoted, reason = False, f"challenger AUC {ch:.4f} < champion v{champ} {metrics['champion']['auc']:.4f} + {margin}"
    if promoted:
        from mlflow import MlflowClient

        MlflowClient().set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
    _record(lake, action="promote" if promoted else "reject", version=version, previous=champ,
            champion_after=version if promoted else champ, reason=reason, run_id=run_id, valid_day=valid_day,
            metrics=metrics, gate=gate)
    return RetrainResult(run_id=run_id, version=version, valid_day=valid_day, train_days=train_days, metrics=metrics,
                         cohorts=cohorts, promoted=promoted, reason=reason, seconds=round(time.time() - t0, 2),
                         manifests=manifests)


def rollback(lake: "Lake", config: "Config", *, reason: str = "manual rollback") -> tuple[int, int]:
    """Move ``champion`` back to the version it pointed at before the current one (from
    ``ml.model_promotions``); returns (from, to). Raises :class:`ModelError` without a previous one."""
    from mlflow import MlflowClient

    current = champion_version(config)
    if current is None or not lake.exists(PROMOTIONS_TABLE):
        raise ModelError("no champion to roll back from")
    hist = lake.read_pandas(PROMOTIONS_TABLE).sort_values("decided_at")
    moved = hist[(hist.champion_after == current) & (hist.action.isin(["promote", "rollback"]))]
    previous = moved.previous_champion.dropna()
    if previous.empty:
        raise ModelError(f"champion v{current} has no previous champion to roll back to")
    target = int(previous.iloc[-1])
    MlflowClient().set_registered_model_alias(MODEL_NAME, CHAMPION, str(target))
    _record(lake, action="rollback", version=target, previous=current, champion_after=target, reason=reason,
            run_id=None, valid_day=None, metrics={}, gate=None)
    return current, target


def _manifests(lake: "Lake", days: Sequence[date]) -> list[str]:
    if not lake.exists("ml.dataset_manifests"):
        return []
    m = lake.read_pandas("ml.dataset_manifests", columns=["build_id", "ds", "created_at"], where={"ds": list(days)})
    return m.sort_values("created_at").groupby("ds").build_id.last().tolist()


def _record(lake: "Lake", *, action: str, version: int, previous: int | None, champion_after: int | None, reason: str,
            run_id: str | None, valid_day: date | None, metrics: Mapping[str, Mapping[str, float]], gate: str | None) -> None:
    import pyarrow as pa

    from reelhouse.lake.catalog import get_table

    now = datetime.now(timezone.utc)
    row = {
        "decision_id": [uuid.uuid4().hex], "model_name": [MODEL_NAME], "action": [action], "version": [version],
        "previous_champion": [previous], "champion_after": [champion_after], "reason": [reason], "run_id": [run_id],
        "valid_day": [valid_day], "gate_verdict": [gate],
        "challenger_auc": [metrics.get("challenger", {}).get("auc")], "champion_auc": [metrics.get("champion", {}).get("auc")],
        "baseline_auc": [metrics.get("baseline", {}).get("auc")],
        "metrics_json": [json.dumps(metrics, default=float)], "decided_at": [now], "ds": [now.date()],
    }
    from reelhouse.lake.locks import lake_lock

    with lake_lock(lake.root, "model promotion", log=lambda m: None):
        lake.write_arrow(pa.table(row).cast(get_table(PROMOTIONS_TABLE).arrow_schema()), PROMOTIONS_TABLE, mode="append")


def latest_examples_day(lake: "Lake") -> date:
    """The newest ``ds`` of ``gold.training_examples``. Raises :class:`ModelError` when empty."""
    parts = lake.partitions("gold.training_examples") if lake.exists("gold.training_examples") else []
    if not parts:
        raise ModelError("gold.training_examples has no partitions yet")
    return max(date.fromisoformat(p["ds"]) for p in parts)
