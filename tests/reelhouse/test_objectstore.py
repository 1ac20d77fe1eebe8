"""Object-store options from configuration: one section, every client's spelling, credentials
only from the environment (no server needed: tests/integration/test_object_store.py talks to one)."""

from __future__ import annotations

import re

import pytest

from reelhouse import objectstore as obs
from reelhouse.config import PROJECT_ROOT, ConfigError, ObjectStoreConfig, load_config

LOOPBACK = ObjectStoreConfig(endpoint="http://127.0.0.1:8333", path_style=True, allow_http=True)
AWS = ObjectStoreConfig(region="eu-west-1")
KEYS = {"REELHOUSE_S3_ACCESS_KEY": "AK", "REELHOUSE_S3_SECRET_KEY": "SK"}


def test_objectstore_overlay_points_the_lake_at_the_loopback_store():
    cfg = load_config("objectstore", environ={})
    assert cfg.paths.lake == "s3a://reelhouse-lake" and cfg.paths.landing == "s3a://reelhouse-landing"
    assert cfg.object_store == ObjectStoreConfig(endpoint="http://127.0.0.1:8333", region="us-east-1",
                                                 path_style=True, allow_http=True, delta_commit="conditional_put")
    # the other overlays keep AWS's defaults; every key can be set from the environment
    assert load_config("test", environ={}).object_store == ObjectStoreConfig()
    over = load_config("test", environ={"REELHOUSE__OBJECT_STORE__ENDPOINT": "http://10.0.0.5:9000/",
                                        "REELHOUSE__OBJECT_STORE__ALLOW_HTTP": "true",
                                        "REELHOUSE__OBJECT_STORE__PATH_STYLE": "yes"}).object_store
    assert (over.endpoint, over.allow_http, over.path_style) == ("http://10.0.0.5:9000", True, True)


@pytest.mark.parametrize("env, message", [
    ({"REELHOUSE__OBJECT_STORE__ENDPOINT": "http://127.0.0.1:8333"}, r"plain HTTP .* 'object_store.allow_http' is false"),
    ({"REELHOUSE__OBJECT_STORE__ENDPOINT": "127.0.0.1:8333"}, r"'object_store.endpoint' must be http\(s\)://host\[:port\]"),
    ({"REELHOUSE__OBJECT_STORE__PATH_STYLE": "maybe"}, r"'object_store.path_style' must be true or false"),
    ({"REELHOUSE__OBJECT_STORE__DELTA_COMMIT": "dynamo"}, r"'object_store.delta_commit' must be 'conditional_put' or"),
    ({"REELHOUSE__OBJECT_STORE__ACCESS_KEY": "x"}, r"unknown key 'object_store.access_key'"),
])
def test_bad_object_store_settings_name_the_key(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config("test", environ=env)


def test_uris():
    assert obs.is_object_store_uri("s3a://b/k") and obs.is_object_store_uri("S3://b") and not obs.is_object_store_uri("/tmp/lake")
    assert obs.split_uri("s3a://bucket/a/b/") == ("bucket", "a/b")
    assert obs.delta_uri("s3a://reelhouse-lake/silver/events") == "s3://reelhouse-lake/silver/events"
    assert obs.delta_uri("/data/lake/silver/events") == "/data/lake/silver/events"
    with pytest.raises(ValueError, match="not an s3:// or s3a:// URI"):
        obs.split_uri("gs://bucket/x")


def test_credentials_come_from_the_environment_in_order():
    both = {**KEYS, "AWS_ACCESS_KEY_ID": "aws", "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_SESSION_TOKEN": "t"}
    c = obs.s3_credentials(AWS, environ=both)
    assert (c.access_key, c.secret_key, c.session_token) == ("AK", "SK", None) and "REELHOUSE_S3_ACCESS_KEY" in c.source
    c = obs.s3_credentials(AWS, environ={"AWS_ACCESS_KEY_ID": "aws", "AWS_SECRET_ACCESS_KEY": "hush-hush", "AWS_SESSION_TOKEN": "t"})
    assert (c.access_key, c.secret_key, c.session_token) == ("aws", "hush-hush", "t")
    assert "hush-hush" not in repr(c) and "'aws'" in repr(c)  # the secret stays out of logs
    # nothing set: a loopback endpoint gets the local-development identity, AWS the SDK's own chain
    assert obs.s3_credentials(LOOPBACK, environ={}).access_key == obs.LOCAL_DEV_ACCESS_KEY
    assert obs.s3_credentials(AWS, environ={}) is None
    with pytest.raises(ConfigError, match="REELHOUSE_S3_ACCESS_KEY is set but REELHOUSE_S3_SECRET_KEY is not"):
        obs.s3_credentials(LOOPBACK, environ={"REELHOUSE_S3_ACCESS_KEY": "AK"})


def test_local_development_identity_is_the_one_services_sh_starts_the_server_with():
    script = (PROJECT_ROOT / "scripts" / "services.sh").read_text()
    assert re.search(r'S3_ACCESS_KEY="\$\{REELHOUSE_S3_ACCESS_KEY:-(.+?)\}"', script).group(1) == obs.LOCAL_DEV_ACCESS_KEY
    assert re.search(r'S3_SECRET_KEY="\$\{REELHOUSE_S3_SECRET_KEY:-(.+?)\}"', script).group(1) == obs.LOCAL_DEV_SECRET_KEY


def test_delta_storage_options():
    assert obs.delta_storage_options(LOOPBACK, "/tmp/lake/silver/events", environ=KEYS) == {}
    assert obs.delta_storage_options(LOOPBACK, "s3a://reelhouse-lake/silver/events", environ=KEYS) == {
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:8333",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false", "AWS_ALLOW_HTTP": "true", "aws_conditional_put": "etag",
        "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}
    aws = obs.delta_storage_options(ObjectStoreConfig(delta_commit="unsafe_rename"), "s3://b/t", environ={})
    assert aws == {"AWS_REGION": "us-east-1", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "true",
                   "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}  # no endpoint, no keys: the SDK's chain


def test_pyarrow_and_fsspec_filesystems():
    pafs = pytest.importorskip("pyarrow.fs")
    assert obs.pyarrow_s3_options(LOOPBACK, environ=KEYS) == {
        "region": "us-east-1", "force_virtual_addressing": False, "endpoint_override": "127.0.0.1:8333",
        "scheme": "http", "access_key": "AK", "secret_key": "SK"}
    fs, path = obs.pyarrow_filesystem(LOOPBACK, "s3a://reelhouse-lake/silver/events/", environ=KEYS)
    assert isinstance(fs, pafs.S3FileSystem) and path == "reelhouse-lake/silver/events" and fs.region == "us-east-1"
    fs, path = obs.pyarrow_filesystem(LOOPBACK, "file:///tmp/lake", environ=KEYS)
    assert isinstance(fs, pafs.LocalFileSystem) and path == "/tmp/lake"
    wrapped, path = obs.fsspec_filesystem(LOOPBACK, "s3://reelhouse-lake/x", environ=KEYS)
    assert isinstance(wrapped.fs, pafs.S3FileSystem) and path == "reelhouse-lake/x"


def test_hadoop_s3a_conf():
    conf = obs.hadoop_s3a_conf(LOOPBACK, environ=KEYS)
    assert conf == {
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1", "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:8333", "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": "AK", "spark.hadoop.fs.s3a.secret.key": "SK",
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}
    assert "spark.hadoop.fs.s3a.access.key" not in obs.hadoop_s3a_conf(AWS, environ={})
    # what goes on a spark-submit command line: no secrets, whatever the environment holds
    public = obs.hadoop_s3a_conf(LOOPBACK, environ=KEYS, credentials=False)
    assert not any(k.endswith(("access.key", "secret.key", "session.token")) for k in public)
    assert public["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:8333"


def test_spark_uri_and_join():
    assert obs.spark_uri("s3://b/lake/silver/events") == "s3a://b/lake/silver/events"
    assert obs.spark_uri("s3a://b/x") == "s3a://b/x" and obs.spark_uri("/tmp/x") == "/tmp/x"
    assert obs.join("s3a://b/", "silver/", "/events") == "s3a://b/silver/events"
    assert obs.join("/tmp/lake", "_quality") == "/tmp/lake/_quality"


def test_filesystem_and_storage_options_use_the_registered_store(monkeypatch):
    import pyarrow.fs as pafs

    monkeypatch.setattr(obs, "_current", None)
    obs.register(LOOPBACK)
    try:
        fs, path = obs.filesystem("s3a://reelhouse-lake/silver/events")
        assert isinstance(fs, pafs.S3FileSystem) and path == "reelhouse-lake/silver/events"
        local, lpath = obs.filesystem("file:///tmp/lake")
        assert isinstance(local, pafs.LocalFileSystem) and lpath == "/tmp/lake"
        assert obs.storage_options("/tmp/lake") is None
        assert obs.storage_options("s3a://reelhouse-lake/t")["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8333"
    finally:
        monkeypatch.setattr(obs, "_current", None)
