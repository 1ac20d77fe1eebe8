"""Client options for the S3-compatible object store behind ``s3://`` / ``s3a://`` lake paths.

One place turns ``config.object_store`` (conf/*.yaml, no secrets) plus the credentials in the
environment into what each client wants:

* :func:`delta_storage_options` — delta-rs ``storage_options`` (``write_deltalake``, ``DeltaTable``);
* :func:`pyarrow_filesystem` — a ``pyarrow.fs.S3FileSystem`` and the bucket/key path for a URI;
* :func:`fsspec_filesystem` — the same as an fsspec filesystem (pandas, DuckDB's ``register_filesystem``);
* :func:`hadoop_s3a_conf` — ``spark.hadoop.fs.s3a.*`` keys for Spark's hadoop-aws connector.

Credentials, in this order: ``REELHOUSE_S3_ACCESS_KEY`` / ``REELHOUSE_S3_SECRET_KEY`` (and
``REELHOUSE_S3_SESSION_TOKEN``), then ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
``AWS_SESSION_TOKEN``; with neither, a loopback endpoint gets the local-development identity that
``scripts/services.sh`` gives the SeaweedFS it starts (:data:`LOCAL_DEV_ACCESS_KEY`), and any
other endpoint is left to the SDK's own chain (instance profile, ``~/.aws``). Local paths (and
``file://``) need no options: the functions return empty options / a local filesystem.

The lake's engines (``reelhouse/lake/``) do not call these yet: wiring them in is the engine work
of issue 17; this module stays free of Lake imports so that both engines can use it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

from reelhouse.config import ConfigError, ObjectStoreConfig

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow.fs

#: the S3 identity of the loopback SeaweedFS (scripts/services.sh), used only for a loopback
#: endpoint when the environment names no credentials: local development, never a real store
LOCAL_DEV_ACCESS_KEY = "reelhouse"
LOCAL_DEV_SECRET_KEY = "reelhouse-local-dev-secret"

_S3_SCHEMES = ("s3", "s3a", "s3n")
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1)$")


@dataclass(frozen=True)
class S3Credentials:
    """An access key pair (``session_token`` for temporary credentials); ``source`` says which
    variables (or the local-development default) it came from, for messages — never the secret."""

    access_key: str
    secret_key: str
    session_token: str | None
    source: str

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"S3Credentials(access_key={self.access_key!r}, source={self.source!r})"


def is_object_store_uri(uri: str) -> bool:
    """True for ``s3://``, ``s3a://`` and ``s3n://`` URIs (any case of the scheme)."""
    return urlsplit(str(uri)).scheme.lower() in _S3_SCHEMES


def split_uri(uri: str) -> tuple[str, str]:
    """``s3a://bucket/a/b`` → ``("bucket", "a/b")``. Raises ``ValueError`` for a non-S3 URI or
    one without a bucket."""
    parts = urlsplit(str(uri))
    if parts.scheme.lower() not in _S3_SCHEMES or not parts.netloc:
        raise ValueError(f"not an s3:// or s3a:// URI with a bucket: {uri!r}")
    return parts.netloc, parts.path.strip("/")


def delta_uri(uri: str) -> str:
    """The URI as delta-rs names it: ``s3a://``/``s3n://`` become ``s3://`` (the same object); a
    local path is returned unchanged. Delta logs written through either name are identical."""
    if is_object_store_uri(uri):
        bucket, key = split_uri(uri)
        return f"s3://{bucket}/{key}".rstrip("/")
    return str(uri)


def _is_loopback(endpoint: str | None) -> bool:
    return bool(endpoint) and bool(_LOOPBACK.match(urlsplit(endpoint).hostname or ""))


def s3_credentials(store: ObjectStoreConfig, *, environ: Mapping[str, str] | None = None) -> S3Credentials | None:
    """The credentials for ``store`` from the environment (see the module docstring for the
    order), or ``None`` when the SDK's default chain should find them.

    Raises :class:`ConfigError` naming the variable when only half a key pair is set."""
    env = os.environ if environ is None else environ
    for access_var, secret_var, token_var in (
        ("REELHOUSE_S3_ACCESS_KEY", "REELHOUSE_S3_SECRET_KEY", "REELHOUSE_S3_SESSION_TOKEN"),
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    ):
        access, secret = env.get(access_var), env.get(secret_var)
        if access and secret:
            return S3Credentials(access, secret, env.get(token_var) or None, f"{access_var}/{secret_var}")
        if access or secret:
            missing = secret_var if access else access_var
            raise ConfigError(f"object store credentials: {access_var if access else secret_var} is set "
                              f"but {missing} is not; set both (or neither)")
    if _is_loopback(store.endpoint):
        return S3Credentials(LOCAL_DEV_ACCESS_KEY, LOCAL_DEV_SECRET_KEY, None,
                             "local-development default of scripts/services.sh (loopback endpoint)")
    return None


def delta_storage_options(store: ObjectStoreConfig, uri: str, *,
                          environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """delta-rs ``storage_options`` for ``uri``: ``{}`` for a local path, else endpoint, region,
    addressing style, HTTP permission, credentials and the log-commit mode
    (``aws_conditional_put=etag`` or ``AWS_S3_ALLOW_UNSAFE_RENAME``). Pass the URI through
    :func:`delta_uri` as well. Raises :class:`ConfigError` for half a key pair."""
    if not is_object_store_uri(uri):
        return {}
    opts: dict[str, str] = {"AWS_REGION": store.region}
    if store.endpoint:
        opts["AWS_ENDPOINT_URL"] = store.endpoint
    opts["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false" if store.path_style else "true"
    if store.allow_http:
        opts["AWS_ALLOW_HTTP"] = "true"
    if store.delta_commit == "conditional_put":
        opts["aws_conditional_put"] = "etag"
    else:
        opts["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
    creds = s3_credentials(store, environ=environ)
    if creds is not None:
        opts["AWS_ACCESS_KEY_ID"] = creds.access_key
        opts["AWS_SECRET_ACCESS_KEY"] = creds.secret_key
        if creds.session_token:
            opts["AWS_SESSION_TOKEN"] = creds.session_token
    return opts


def pyarrow_s3_options(store: ObjectStoreConfig, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments of ``pyarrow.fs.S3FileSystem`` for ``store`` (credentials included)."""
    kwargs: dict[str, Any] = {"region": store.region, "force_virtual_addressing": not store.path_style}
    if store.endpoint:
        parts = urlsplit(store.endpoint)
        kwargs["endpoint_override"] = parts.netloc
        kwargs["scheme"] = parts.scheme
    creds = s3_credentials(store, environ=environ)
    if creds is not None:
        kwargs.update(access_key=creds.access_key, secret_key=creds.secret_key)
        if creds.session_token:
            kwargs["session_token"] = creds.session_token
    return kwargs


def pyarrow_filesystem(store: ObjectStoreConfig, uri: str, *,
                       environ: Mapping[str, str] | None = None) -> tuple["pyarrow.fs.FileSystem", str]:
    """``(filesystem, path)`` to open ``uri`` with pyarrow (``pyarrow.parquet``, ``pyarrow.dataset``):
    an ``S3FileSystem`` and ``bucket/key`` for an S3 URI, the local filesystem and the path
    otherwise. Raises :class:`ConfigError` for half a key pair."""
    import pyarrow.fs as pafs

    if not is_object_store_uri(uri):
        return pafs.LocalFileSystem(), str(uri).removeprefix("file://")
    bucket, key = split_uri(uri)
    return pafs.S3FileSystem(**pyarrow_s3_options(store, environ=environ)), f"{bucket}/{key}".rstrip("/")


def fsspec_filesystem(store: ObjectStoreConfig, uri: str, *, environ: Mapping[str, str] | None = None):
    """``(fsspec filesystem, path)`` for ``uri``: pyarrow's S3 client behind fsspec's
    ``ArrowFSWrapper`` (no s3fs needed), e.g. for ``duckdb.register_filesystem``."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    fs, path = pyarrow_filesystem(store, uri, environ=environ)
    return ArrowFSWrapper(fs), path


def hadoop_s3a_conf(store: ObjectStoreConfig, *, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``spark.hadoop.fs.s3a.*`` settings for Spark's hadoop-aws connector (S3A) on ``store``:
    endpoint, region, path-style access, TLS and — when the environment names them — the key pair
    (set at session build time, never written to a file)."""
    p = "spark.hadoop.fs.s3a."
    conf = {p + "endpoint.region": store.region, p + "path.style.access": str(store.path_style).lower()}
    if store.endpoint:
        conf[p + "endpoint"] = store.endpoint
        conf[p + "connection.ssl.enabled"] = str(store.endpoint.startswith("https://")).lower()
    creds = s3_credentials(store, environ=environ)
    if creds is not None:
        conf[p + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        conf[p + "access.key"] = creds.access_key
        conf[p + "secret.key"] = creds.secret_key
        if creds.session_token:
            conf[p + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            conf[p + "session.token"] = creds.session_token
    return conf
