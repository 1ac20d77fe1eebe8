"""The retrain: metrics against hand-computed values; on generated data the model beats the
popularity baseline; champion/challenger promotion, a worse challenger kept out, rollback, all audited."""

from __future__ import annotations

import os

import numpy as np
import pytest

from reelhouse.ml.model import auc, evaluate, ndcg_at_k

def test_metrics_match_hand_computed_values():
    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    assert auc(y, p) == pytest.approx(5 / 6)  # 5 of the 6 (positive, negative) pairs ordered right
    users = np.array(["a", "a", "a", "b", "b"])
    # user a: ranks 1,2,3 → gains 1,0,1; DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3); user b has no positive
    assert ndcg_at_k(y, p, users, k=10) == pytest.approx(1.5 / (1 + 1 / np.log2(3)))
    m = evaluate(y, np.full(5, 0.4), users)
    assert m["calibration"] == pytest.approx(1.0) and m["normalized_entropy"] == pytest.approx(1.0)
    assert np.isnan(auc(np.ones(3), np.ones(3)))


def test_each_lake_keeps_its_own_registry_in_one_process(tmp_path, monkeypatch):
    """mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; reelhouse must not let that point the
    next lake (or a child process) at the first lake's registry."""
    from mlflow import MlflowClient

    from reelhouse.config import load_config
    from reelhouse.ml.model import _mlflow, tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfgs = [load_config("test", environ={**os.environ, "REELHOUSE__PATHS__LAKE": str(tmp_path / n)}) for n in "ab"]
    _mlflow(cfgs[0])
    MlflowClient().create_registered_model("only_in_a")
    assert "MLFLOW_TRACKING_URI" not in os.environ
    mlflow = _mlflow(cfgs[1])
    assert mlflow.get_tracking_uri() == tracking_uri(cfgs[1]) != tracking_uri(cfgs[0])
    assert [m.name for m in MlflowClient().search_registered_models()] == []
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'server.db'}")  # the user's own server wins
    assert _mlflow(cfgs[0]).get_tracking_uri() == f"sqlite:///{tmp_path / 'server.db'}"
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture(scope="module")
def lake_days(demo_lake, spark, tmp_path_factory):
    """A copy of the session's generated lake without its model registry, promotion log and gate
    verdicts, so this module's retrains start from "no champion" and "gate missing"."""
    import shutil

    from reelhouse.config import load_config
    from reelhouse.lake import Lake

    root = tmp_path_factory.mktemp("model") / "lake"
    shutil.copytree(demo_lake.lake_root, root, ignore=shutil.ignore_patterns("_mlflow"))
    shutil.rmtree(root / "ml" / "model_promotions", ignore_errors=True)
    shutil.rmtree(root / "ops" / "quality_results")  # no gate verdicts: require_gate must refuse
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REELHOUSE__PATHS__LAKE", str(root))
        cfg = load_config("test")
        yield cfg, Lake.from_config(cfg, spark), demo_lake.days


def test_model_beats_popularity_promotion_and_rollback(lake_days):
    from reelhouse.ml.model import champion_version, retrain, rollback

    cfg, lake, days = lake_days
    valid = days[-1]
    first = retrain(lake, cfg, valid, window_days=2, require_gate=False)
    ch, base = first.metrics["challenger"], first.metrics["baseline"]
    assert ch["auc"] >= base["auc"] + 0.05, first.summary()
    assert ch["ndcg_at_10"] > base["ndcg_at_10"], first.summary()
    assert 0.7 < ch["calibration"] < 1.3 and ch["normalized_entropy"] < 1.0
    assert set(first.cohorts) <= {"is_new_user", "is_new_video", "is_trending_video"} and first.cohorts
    assert first.promoted and champion_version(cfg) == first.version
    assert first.manifests  # the dataset builds it trained on, logged with the run
    # a much weaker challenger (one tree, tiny steps) on the same rows is not promoted
    weak = retrain(lake, cfg, valid, window_days=2, require_gate=False, num_rounds=1, params={"learning_rate": 0.001, "num_leaves": 2})
    assert not weak.promoted and "< champion" in weak.reason and champion_version(cfg) == first.version
    # gate missing: even a better model is not promoted when the gate is required
    gated = retrain(lake, cfg, valid, window_days=2, require_gate=True, margin=-1.0)
    assert not gated.promoted and "quality gate" in gated.reason
    # a forced promotion, then rollback restores the previous champion
    better = retrain(lake, cfg, valid, window_days=2, require_gate=False, margin=-1.0)
    assert better.promoted and champion_version(cfg) == better.version
    assert rollback(lake, cfg) == (better.version, first.version)
    assert champion_version(cfg) == first.version
    log = lake.read_pandas("ml.model_promotions").sort_values("decided_at")
    assert log.action.tolist() == ["promote", "reject", "reject", "promote", "rollback"]
    assert log.reason.str.len().gt(0).all() and log.challenger_auc.notna().sum() == 4


def test_mlflow_on_a_lake_in_the_object_store_keeps_artifacts_there_and_the_db_local(tmp_path, monkeypatch):
    """Artifacts under ``<lake>/_mlflow/artifacts`` on the store (``s3://``, MLflow's S3 artifact
    store through boto3, pointed at the store's endpoint); the SQLite tracking DB in the lake's local
    state folder (no SQLite on an object store)."""
    import dataclasses
    import os

    from reelhouse.config import load_config
    from reelhouse.ml import model

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("REELHOUSE_STATE_DIR", str(tmp_path / "state"))
    for var in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(var, "")  # recorded: whatever the code sets is undone after the test
        monkeypatch.delenv(var)
    cfg = load_config("objectstore", environ={"REELHOUSE_LAKE_URI": "s3a://reelhouse-lake/prod"})
    assert model.artifact_location(cfg) == "s3://reelhouse-lake/prod/_mlflow/artifacts"
    assert model.tracking_uri(cfg) == f"sqlite:///{tmp_path}/state/reelhouse-lake/prod/_mlflow/mlflow.db"
    model._s3_artifact_env(cfg)
    assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == "http://127.0.0.1:8333"
    assert os.environ["AWS_ACCESS_KEY_ID"]  # the loopback identity (or the environment's pair)
    local = dataclasses.replace(cfg, paths=dataclasses.replace(cfg.paths, lake=str(tmp_path / "lake")))
    assert model.artifact_location(local) == (tmp_path / "lake" / "_mlflow" / "artifacts").as_uri()


def test_load_examples_builds_the_float32_matrix_from_arrow_in_ds_and_example_id_order(lake_days):
    import datetime as dt

    import pyarrow.compute as pc

    from reelhouse.ml.model import COHORTS, feature_columns, load_examples

    _cfg, lake, days = lake_days
    window = days[-3:-1]
    ex = load_examples(lake, list(reversed(window)), labels=["label_complete", "label_like"], users=True)
    t = lake.read_arrow("gold.training_examples", where={"ds": window})
    t = t.sort_by([("ds", "ascending"), ("example_id", "ascending")])
    assert len(ex) == t.num_rows > 0 and ex.X.dtype == np.float32 and ex.X.shape == (t.num_rows, len(feature_columns()))
    for j, c in enumerate(feature_columns()):
        want = t.column(c).to_numpy(zero_copy_only=False).astype(np.float64)
        got = ex.X[:, j].astype(np.float64)
        assert np.array_equal(np.isnan(got), np.isnan(want)), c  # NULL -> NaN, nothing else
        assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-6), c
    assert np.array_equal(ex.labels["label_like"], t.column("label_like").to_numpy())
    assert set(ex.cohorts) == set(COHORTS) and ex.cohorts["is_new_user"].dtype == bool
    users = t.column("user_id").to_numpy(zero_copy_only=False)
    same = users[:, None] == users[None, :200] if len(users) < 20_000 else None
    if same is not None:
        assert np.array_equal(same, ex.users[:, None] == ex.users[None, :200])  # equal codes = same user
    assert len(load_examples(lake, [window[0] - dt.timedelta(days=400)])) == 0  # a day without rows
    assert pc.sum(t.column("label_complete")).as_py() == int(ex.labels["label_complete"].sum())
