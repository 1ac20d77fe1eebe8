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

Code that holds only a path or URI (the lake's engines, the landing zone, Data Docs, manifests)
asks :func:`filesystem` and :func:`storage_options`, which use the process's store:
:func:`register` sets it (``Lake.from_config`` and the jobs do, from ``config.object_store``);
unset, it is ``get_config().object_store``. This module stays free of Lake imports so that both
engines can use it.
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


_current: ObjectStoreConfig | None = None


def register(store: ObjectStoreConfig) -> None:
    """Make ``store`` the process's object store: the one :func:`filesystem`,
    :func:`storage_options` and :func:`spark_uri` use for ``s3://``/``s3a://`` URIs."""
    global _current
    _current = store


def current_store() -> ObjectStoreConfig:
    """The store :func:`register` set, else ``get_config().object_store`` (``$REELHOUSE_ENV``)."""
    if _current is not None:
        return _current
    from reelhouse.config import get_config

    return get_config().object_store


def filesystem(uri: str, store: ObjectStoreConfig | None = None) -> tuple["pyarrow.fs.FileSystem", str]:
    """:func:`pyarrow_filesystem` on the process's store (:func:`current_store`): ``(filesystem,
    path)`` for a local path or an S3 URI. Raises :class:`ConfigError` for half a key pair."""
    if not is_object_store_uri(uri):
        import pyarrow.fs as pafs

        return pafs.LocalFileSystem(), os.path.abspath(str(uri).removeprefix("file://"))
    return pyarrow_filesystem(store or current_store(), uri)


def storage_options(uri: str, store: ObjectStoreConfig | None = None) -> dict[str, str] | None:
    """:func:`delta_storage_options` on the process's store, ``None`` for a local path (what
    delta-rs' ``storage_options=`` takes)."""
    if not is_object_store_uri(uri):
        return None
    return delta_storage_options(store or current_store(), uri)


def spark_uri(uri: str) -> str:
    """The URI as Spark's Hadoop connector names it: ``s3://``/``s3n://`` → ``s3a://`` (S3A); a
    local path unchanged."""
    scheme = urlsplit(str(uri)).scheme.lower()
    if scheme in ("s3", "s3n"):
        return "s3a://" + str(uri).split("://", 1)[1]
    return str(uri)


def join(root: str, *parts: str) -> str:
    """``root/part/…`` for a local path or a URI (``/`` separators, no ``os.path`` semantics)."""
    out = str(root).rstrip("/")
    for p in parts:
        out = f"{out}/{str(p).strip('/')}"
    return out


def write_bytes(uri: str, data: bytes) -> None:
    """Write ``data`` to ``uri`` (local path: parent folders created; object store: one PUT)."""
    fs, path = filesystem(uri)
    if not is_object_store_uri(uri):
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(data)


def read_bytes(uri: str) -> bytes:
    """The content of ``uri``. Raises ``FileNotFoundError`` when there is no such file."""
    fs, path = filesystem(uri)
    with fs.open_input_stream(path, compression=None) as src:  # the bytes as stored, never decompressed
        return src.read()


def list_files(uri: str) -> list[tuple[str, int]]:
    """``(path relative to uri, size in bytes)`` of every file under ``uri`` (recursive; a local
    folder or an object-store prefix; ``[]`` when there is none)."""
    import pyarrow.fs as pafs

    fs, root = filesystem(uri)
    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    except FileNotFoundError:
        return []
    return [(i.path[len(root):].lstrip("/"), i.size) for i in infos if i.type == pafs.FileType.File]


def exists(uri: str) -> bool:
    """True when ``uri`` names a file or a folder (a key prefix on an object store)."""
    import pyarrow.fs as pafs

    fs, path = filesystem(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def upload_dir(local_dir: str, uri: str) -> int:
    """Copy the local folder ``local_dir`` to ``uri`` (what was there with the same names is
    replaced); a local ``uri`` is a plain folder copy. Returns the number of files copied."""
    import pyarrow.fs as pafs

    fs, dest = filesystem(uri)
    local = pafs.LocalFileSystem()
    files = [i for i in local.get_file_info(pafs.FileSelector(local_dir, recursive=True)) if i.type == pafs.FileType.File]
    pafs.copy_files(local_dir, dest, source_filesystem=local, destination_filesystem=fs, use_threads=True)
    return len(files)


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


def hadoop_s3a_conf(store: ObjectStoreConfig, *, environ: Mapping[str, str] | None = None,
                    credentials: bool = True) -> dict[str, str]:
    """``spark.hadoop.fs.s3a.*`` settings for Spark's hadoop-aws connector (S3A) on ``store``:
    endpoint, region, path-style access, TLS, ``s3://`` served by S3A too (delta-rs names tables
    ``s3://``) and — when ``credentials`` and the environment names them — the key pair.
    ``credentials=False`` leaves the secrets out: what goes on a ``spark-submit`` command line
    (:func:`reelhouse.spark.spark_conf`); the driver sets them at run time
    (:func:`reelhouse.spark.get_spark`)."""
    p = "spark.hadoop.fs.s3a."
    conf = {p + "endpoint.region": store.region, p + "path.style.access": str(store.path_style).lower(),
            "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}
    if store.endpoint:
        conf[p + "endpoint"] = store.endpoint
        conf[p + "connection.ssl.enabled"] = str(store.endpoint.startswith("https://")).lower()
    creds = s3_credentials(store, environ=environ) if credentials else None
    if creds is not None:
        conf[p + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        conf[p + "access.key"] = creds.access_key
        conf[p + "secret.key"] = creds.secret_key
        if creds.session_token:
            conf[p + "aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            conf[p + "session.token"] = creds.session_token
    return conf
