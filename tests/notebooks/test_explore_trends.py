"""notebooks/explore_trends.ipynb runs top to bottom against the demo lake (found through the normal
configuration: the kernel gets the demo lake's REELHOUSE_* environment), and what it prints matches
the lake."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "explore_trends.ipynb"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def _kernel_for_this_python(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The kernel name to run (``python3``) and extra environment, such that the kernel is this
    interpreter (the venv's). jupyter_client turns a kernelspec argv[0] of ``python`` /
    ``python3`` / ``python3.11`` into ``sys.executable``; any other python3 spec is shadowed by a
    spec for ``sys.executable`` written to a temporary JUPYTER_PATH entry."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    names = {"python", f"python{sys.version_info[0]}", "python%d.%d" % sys.version_info[:2]}
    try:
        argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
        if argv0 in names or os.path.realpath(argv0) == os.path.realpath(sys.executable):
            return "python3", {}
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import write_kernel_spec

    kernels = tmp_path / "jupyter" / "kernels"
    kernels.mkdir(parents=True)
    write_kernel_spec(str(kernels / "python3"))  # argv[0] = sys.executable
    return "python3", {"JUPYTER_PATH": str(tmp_path / "jupyter") + os.pathsep + os.environ.get("JUPYTER_PATH", "")}


@pytest.fixture(scope="module")
def executed(demo_lake, tmp_path_factory):
    from nbclient import NotebookClient

    from reelhouse.lake.catalog import TABLES
    from reelhouse.lake import Lake

    lake = Lake.from_config(demo_lake.config)
    before = {n: lake.version(n) for n in TABLES}
    kernel, extra_env = _kernel_for_this_python(tmp_path_factory.mktemp("kernels"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('KERNEL_PYTHON=' + sys.executable)"))
    saved = {k: os.environ.get(k) for k in [*demo_lake.env, *extra_env]}
    os.environ.update({**demo_lake.env, **extra_env})  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, kernel_name=kernel, timeout=600, startup_timeout=180,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert {n: lake.version(n) for n in TABLES} == before, "the notebook wrote into the lake"
    return nb


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                out.append(o.text)
            elif o.output_type == "error":
                out.append("\n".join(o.traceback))
    return "".join(out)


def test_runs_in_this_venv_against_the_demo_lake(executed, demo_lake):
    text = _text(executed)
    assert f"KERNEL_PYTHON={sys.executable}" in text
    assert f"lake: {demo_lake.config.paths.lake}" in text


def test_top_hashtag_and_video_match_gold(executed, demo_lake):
    from reelhouse.lake import Lake

    lake = Lake.from_config(demo_lake.config)
    text = _text(executed)
    trending = lake.read_pandas("gold.trending_hashtags")
    latest = trending["ds"].max()
    top = trending[(trending["ds"] == latest) & (trending["region"] == "ALL")].sort_values("rank").iloc[0]
    m = re.search(r"Top hashtag on (\S+) \(all regions\): #(.+)", text)
    assert m, text[:2000]
    assert (m.group(1), m.group(2).strip()) == (str(latest), top["hashtag"])
    videos = lake.read_pandas("gold.trending_videos", where={"ds": [latest]})
    top_video = videos[videos["region"] == "ALL"].sort_values("rank").iloc[0]
    assert f"Top trending video on {latest}: {top_video['video_id']} " in text


def test_prints_the_champion_and_every_verdict(executed, demo_lake):
    from reelhouse.lake import Lake
    from reelhouse.ml.model import champion_version
    from reelhouse.quality.gate import latest_verdicts

    text = _text(executed)
    version = champion_version(demo_lake.config)
    assert version is not None
    assert re.search(rf"Champion model: reelhouse_ranking v{version} \(promote at ", text), text[:3000]
    assert re.search(r"AUC 0\.\d{4} vs popularity baseline 0\.\d{4}", text)
    for r in latest_verdicts(Lake.from_config(demo_lake.config)).itertuples():
        assert re.search(rf"{r.ds}: {r.verdict.upper()}\s+{r.checks - r.failed}/{r.checks} checks passed", text)


def test_time_travel_reads_an_earlier_version(executed, demo_lake):
    from reelhouse.lake import Lake

    lake = Lake.from_config(demo_lake.config)
    text = _text(executed)
    m = re.search(r"version (\d+): ([\d,]+) rows, dates \[(.*)\]", text)
    assert m, text
    first_day = str(demo_lake.days[0])
    assert m.group(3) == f"'{first_day}'"
    assert int(m.group(2).replace(",", "")) == len(lake.read_pandas("gold.trending_hashtags", where={"ds": [first_day]}))
    assert re.search(rf"version {lake.version('gold.trending_hashtags')} \(current\): ", text)


def test_plots_are_rendered(executed):
    plots = [o for c in executed.cells for o in c.get("outputs", [])
             if o.output_type in ("display_data", "execute_result") and PLOTLY_MIME in o.get("data", {})]
    assert len(plots) >= 3
    fig = plots[0]["data"][PLOTLY_MIME]
    fig = json.loads(fig) if isinstance(fig, str) else fig
    assert fig["data"] and fig["data"][0]["type"] == "scatter" and "Trend score" in fig["layout"]["title"]["text"]
