"""Vocabulary (KuaiRec) and calibration (KuaiRand) of the synthetic world.

The two dataset files are read at run time and never copied (see the package docstring,
"Calibration and sources"); without them built-in constants derived once from the same files are
used. Loaded objects are cached per (file, mtime) for the life of the process.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from reelhouse.sources import contract
from reelhouse.sources.generator.params import HOUR_MS

#: watch ratios are capped at 8 loops (calibration quantiles and sampled plays alike)
WR_MAX = 8.0

DATASETS_DIR = Path(os.environ.get("REELHOUSE_DATASETS_DIR", Path(__file__).resolve().parents[4] / "shared" / "datasets"))
#: Default KuaiRec caption/category file (hashtag vocabulary); override with ``tags_path``.
DEFAULT_TAGS_PATH = DATASETS_DIR / "kuairec-meta" / "kuairec_caption_category.csv"
#: Default KuaiRand log extract (calibration); override with ``kuairand_path``.
DEFAULT_KUAIRAND_PATH = (
    DATASETS_DIR / "kuairand" / "log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv"
)
#: Pass as ``tags_path`` / ``kuairand_path`` to force the built-in fallback constants.
BUILTIN = "builtin"

CATEGORY_EN = {
    "民生资讯": "local news", "时尚": "fashion", "其他": "other", "颜值": "looks", "情感": "relationships",
    "美食": "food", "明星娱乐": "celebrities", "舞蹈": "dance", "生活": "lifestyle", "自拍": "selfie",
    "喜剧": "comedy", "亲子": "parenting", "运动": "sports", "艺术": "art", "二次元": "anime",
    "三农": "rural life", "宠物": "pets", "摄影": "photography", "音乐": "music", "健康": "health",
    "健身": "fitness", "美妆": "makeup", "短剧": "short drama", "旅游": "travel", "汽车": "cars",
    "游戏": "gaming", "科学与法律": "science and law", "军事": "military", "读书": "reading",
    "影视综": "film and tv", "教育": "education", "时政资讯": "politics", "人文": "humanities",
    "房产家居": "home", "高新数码": "tech", "星座命理": "astrology", "财经": "finance",
    "奇人异象": "oddities",
}
_N_CATEGORIES = 28
EMOJI_TAGS = ("🔥", "😂", "❤️", "🥰", "👍", "✨")

# Built-in fallback vocabulary: (category, english, tags). Used only without the KuaiRec file.
_BUILTIN_VOCAB: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("美食", ("美食", "家常菜", "美食教程", "foodie", "吃货", "烘焙", "火锅", "街头小吃")),
    ("舞蹈", ("舞蹈", "dance", "街舞", "kpop", "爵士舞", "广场舞", "手势舞", "breaking")),
    ("喜剧", ("搞笑", "段子", "沙雕", "funny", "整蛊", "喜剧", "搞笑视频", "名场面")),
    ("宠物", ("萌宠", "猫咪", "狗狗", "cat", "柯基", "布偶猫", "萌宠驾到", "pets")),
    ("时尚", ("穿搭", "ootd", "时尚", "街拍", "jk", "汉服", "显瘦穿搭", "秋冬穿搭")),
    ("美妆", ("美妆", "makeup", "仿妆", "护肤", "口红试色", "新手化妆", "眼妆", "grwm")),
    ("运动", ("运动", "篮球", "NBA", "足球", "跑步", "滑板", "羽毛球", "骑行")),
    ("健身", ("健身", "fitness", "减脂", "瑜伽", "居家健身", "增肌", "帕梅拉", "打卡")),
    ("音乐", ("音乐", "翻唱", "music", "吉他", "钢琴", "原创音乐", "dj", "说唱")),
    ("游戏", ("游戏", "王者荣耀", "和平精英", "gaming", "原神", "mc", "电竞", "steam")),
    ("旅游", ("旅游", "travel", "旅行vlog", "风景", "露营", "自驾游", "海边", "古镇")),
    ("汽车", ("汽车", "car", "新能源", "改装车", "试驾", "摩托车", "jdm", "越野")),
    ("亲子", ("亲子", "萌娃", "育儿", "宝宝", "母婴", "亲子游戏", "baby", "带娃日常")),
    ("生活", ("生活", "vlog", "日常", "记录生活", "好物分享", "收纳", "租房改造", "独居")),
    ("颜值", ("颜值", "帅哥", "美女", "自拍", "氛围感", "高颜值", "selfie", "素颜")),
    ("情感", ("情感", "爱情", "治愈", "emo", "语录", "正能量", "扎心", "暗恋")),
    ("三农", ("三农", "农村生活", "赶集", "乡村", "种地", "农民", "丰收", "果园")),
    ("二次元", ("二次元", "cosplay", "动漫", "anime", "手办", "lolita", "漫展", "原创动画")),
    ("摄影", ("摄影", "photography", "手机摄影", "人像", "延时摄影", "slomo", "调色", "航拍")),
    ("健康", ("健康", "养生", "中医", "健康科普", "睡眠", "减肥", "饮食", "护眼")),
    ("艺术", ("艺术", "绘画", "书法", "手工", "diy", "art", "陶艺", "插画")),
    ("民生资讯", ("同城热点", "新闻", "民生", "社会", "热点", "本地", "天气", "交通")),
    ("明星娱乐", ("明星", "娱乐", "综艺", "追星", "idol", "饭拍", "演唱会", "路透")),
    ("其他", ("热门", "作品推广", "今天拍点啥", "感谢快手我要上热门", "高清视频", "fyp", "推荐", "上热门")),
)


@dataclass
class Vocab:
    """The hashtag vocabulary and content categories.

    Tags are indexed by tag id (``tags[i]`` normalised per the landing contract, ``surface[i]`` the
    form creators most often type); ``cat_tag_ids[c]`` / ``cat_tag_cum[c]``: the tag ids seen in
    category ``c`` and the cumulative frequencies to draw them from. ``source`` is ``"kuairec"``
    or ``"builtin"`` (then ``path`` and ``sha256`` are None).
    """

    source: str
    path: str | None
    sha256: str | None
    categories: list[str]
    category_share: np.ndarray  # share of catalogue videos per category
    tags: list[str]  # normalised tags (index = tag id)
    surface: list[str]  # typical raw surface form per tag
    tag_count: np.ndarray
    tag_main_cat: np.ndarray
    cat_tag_ids: list[np.ndarray]
    cat_tag_cum: list[np.ndarray]
    captions: list[list[str]]  # per category: JSON-escaped caption literals (with quotes)
    caption_present: float
    ntags_pmf: np.ndarray  # P(k tags), k = 0..len-1


@dataclass
class Calibration:
    """Behaviour calibration: watch-ratio quantiles per duration bucket, the duration log-normal
    (of milliseconds), engagement rates conditional on like, the local-hour diurnal curve.

    ``source`` is ``"kuairand"`` or ``"builtin"``; ``stats``: reference statistics of the source
    recorded in the ground truth.
    """

    source: str
    path: str | None
    sha256: str | None
    dur_edges: np.ndarray  # 3 duration-bucket edges (ms)
    wr_q: np.ndarray  # (4, Q) quantile function of the watch ratio per bucket
    dur_logmu: float
    dur_logsd: float
    null_duration: float
    comment_like: float
    comment_nolike: float
    share_like: float
    share_nolike: float
    follow_like: float
    follow_nolike: float
    diurnal_local: np.ndarray  # 24 local-hour weights, sum 1
    stats: dict[str, float]


_FALLBACK_WR_Q = np.array(
    [
        [0.0, 0.158, 0.243, 0.312, 0.39, 0.478, 0.579, 0.674, 0.767, 0.863, 0.96, 1.042, 1.108,
         1.172, 1.272, 1.47, 1.724, 1.997, 2.455, 3.429, 8.0],
        [0.0, 0.089, 0.159, 0.214, 0.275, 0.364, 0.462, 0.584, 0.688, 0.796, 0.893, 0.98, 1.051,
         1.099, 1.166, 1.281, 1.493, 1.775, 2.033, 2.626, 8.0],
        [0.0, 0.042, 0.083, 0.122, 0.176, 0.256, 0.378, 0.533, 0.675, 0.822, 0.92, 0.973, 1.014,
         1.035, 1.057, 1.093, 1.162, 1.294, 1.539, 1.955, 8.0],
        [0.0, 0.003, 0.012, 0.02, 0.03, 0.042, 0.058, 0.087, 0.127, 0.196, 0.277, 0.39, 0.53, 0.67,
         0.827, 0.938, 0.992, 1.011, 1.029, 1.093, 4.973],
    ]
)
#: KuaiRand time_ms hour-of-day histogram (UTC hours 0..23).
_FALLBACK_DIURNAL_UTC = np.array(
    [0.0338, 0.0401, 0.0453, 0.052, 0.0682, 0.0603, 0.042, 0.0409, 0.0504, 0.0608, 0.0634, 0.0632,
     0.0607, 0.0667, 0.0709, 0.0564, 0.0346, 0.0185, 0.0095, 0.0059, 0.005, 0.0065, 0.0169, 0.028]
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_dataset(path: str | os.PathLike | None, default: Path) -> Path | None:
    """The dataset file to load, None for the built-in fallback.

    ``None`` → ``default`` if that file exists, else the fallback; :data:`BUILTIN` → the fallback.

    Raises:
        FileNotFoundError: an explicit ``path`` that is not a file.
    """
    if path is None:
        return default if default.is_file() else None
    if isinstance(path, str) and path == BUILTIN:
        return None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"dataset file not found: {p}")
    return p


_CACHE: dict[tuple, Any] = {}
_T = TypeVar("_T")


def cached(kind: str, path: Path | None, loader: Callable[[Path | None], _T]) -> _T:
    """``loader(path)``, computed once per (kind, path, file mtime) in this process."""
    key = (kind, str(path), path.stat().st_mtime_ns if path else None)
    if key not in _CACHE:
        _CACHE[key] = loader(path)
    return _CACHE[key]


def load_vocabulary(path: Path | None) -> Vocab:
    """The vocabulary from KuaiRec's ``kuairec_caption_category.csv`` (None: the built-in one).

    The 28 largest categories by tagged videos (the rest folded into ``其他``), per-category tag
    frequencies of the contract-normalised ``topic_tag`` lists, the tags-per-video distribution and
    up to 400 captions per category (JSON literals, cut at 300 characters).
    """
    if path is None:
        return _builtin_vocab()
    import pandas as pd

    df = pd.read_csv(
        path,
        lineterminator="\n",
        usecols=["video_id", "caption", "topic_tag", "first_level_category_name"],
        dtype={"caption": str, "topic_tag": str, "first_level_category_name": str},
        keep_default_na=False,
        na_values=[""],
    )
    cats_all = df["first_level_category_name"].fillna("UNKNOWN").astype(str)
    raw_lists = [
        [t.strip() for t in str(s).strip().strip("[]").split(",") if t.strip()] if isinstance(s, str) else []
        for s in df["topic_tag"].tolist()
    ]
    tagged = np.array([len(x) > 0 for x in raw_lists])
    # categories: the largest by tagged videos (UNKNOWN excluded), the rest folded into 其他
    counts: dict[str, int] = {}
    for c, t in zip(cats_all.tolist(), tagged.tolist()):
        if t and c != "UNKNOWN":
            counts[c] = counts.get(c, 0) + 1
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    keep = ranked[: _N_CATEGORIES - 1]
    if "其他" not in keep:
        keep.append("其他")
    else:
        keep = ranked[:_N_CATEGORIES]
    categories = sorted(keep, key=lambda c: (-counts.get(c, 0), c))
    cat_index = {c: i for i, c in enumerate(categories)}
    other = cat_index["其他"]
    vcat = np.array([cat_index.get(c, other) for c in cats_all.tolist()])
    category_share = np.bincount(vcat, minlength=len(categories)).astype(np.float64)
    category_share /= category_share.sum()

    norm_cache: dict[str, str] = {}
    tag_id: dict[str, int] = {}
    tags: list[str] = []
    surface_counts: list[dict[str, int]] = []
    pair_counts: dict[tuple[int, int], int] = {}
    ntags = []
    for lst, c in zip(raw_lists, vcat.tolist()):
        seen: list[int] = []
        for raw in lst:
            n = norm_cache.get(raw)
            if n is None:
                n = norm_cache[raw] = contract.normalize_hashtag(raw)
            if not n:
                continue
            i = tag_id.get(n)
            if i is None:
                i = tag_id[n] = len(tags)
                tags.append(n)
                surface_counts.append({})
            if i in seen:
                continue
            seen.append(i)
            sc = surface_counts[i]
            sc[raw] = sc.get(raw, 0) + 1
            pair_counts[(c, i)] = pair_counts.get((c, i), 0) + 1
        ntags.append(len(seen))
    surface = [sorted(sc, key=lambda s: (-sc[s], s))[0] for sc in surface_counts]
    n_t, n_c = len(tags), len(categories)
    mat = np.zeros((n_c, n_t))
    for (c, i), k in pair_counts.items():
        mat[c, i] = k
    tag_count = mat.sum(0)
    tag_main_cat = mat.argmax(0)
    cat_tag_ids, cat_tag_cum = [], []
    for c in range(n_c):
        ids = np.flatnonzero(mat[c] > 0)
        if ids.size == 0:  # a category without tags borrows the global frequencies
            ids = np.arange(n_t)
            w = tag_count.copy()
        else:
            w = mat[c, ids]
        cat_tag_ids.append(ids)
        cat_tag_cum.append(np.cumsum(w))
    pmf = np.bincount(np.minimum(ntags, 9), minlength=10).astype(np.float64)
    pmf /= pmf.sum()
    captions: list[list[str]] = [[] for _ in range(n_c)]
    cap_series = df["caption"].tolist()
    n_cap = 0
    for cap, c in zip(cap_series, vcat.tolist()):
        if isinstance(cap, str) and cap.strip():
            n_cap += 1
            if len(captions[c]) < 400:
                captions[c].append(json.dumps(cap[:300], ensure_ascii=False))
    for c in range(n_c):
        if not captions[c]:
            captions[c].append(json.dumps(categories[c], ensure_ascii=False))
    return Vocab(
        source="kuairec",
        path=str(path),
        sha256=_sha256(path),
        categories=categories,
        category_share=category_share,
        tags=tags,
        surface=surface,
        tag_count=tag_count,
        tag_main_cat=tag_main_cat,
        cat_tag_ids=cat_tag_ids,
        cat_tag_cum=cat_tag_cum,
        captions=captions,
        caption_present=n_cap / max(1, len(cap_series)),
        ntags_pmf=pmf,
    )


def _builtin_vocab() -> Vocab:
    categories = [c for c, _ in _BUILTIN_VOCAB]
    tags: list[str] = []
    surface: list[str] = []
    tag_id: dict[str, int] = {}
    pairs = []
    for c, (_, lst) in enumerate(_BUILTIN_VOCAB):
        for rank, raw in enumerate(lst):
            n = contract.normalize_hashtag(raw)
            if n not in tag_id:
                tag_id[n] = len(tags)
                tags.append(n)
                surface.append(raw)
            pairs.append((c, tag_id[n], 40.0 / (rank + 1)))
    n_c, n_t = len(categories), len(tags)
    mat = np.zeros((n_c, n_t))
    for c, i, w in pairs:
        mat[c, i] += w
    # generic tags of "其他" appear in every category
    other = categories.index("其他")
    mat[:, mat[other] > 0] += mat[other, mat[other] > 0] * 0.3
    ids = [np.flatnonzero(mat[c] > 0) for c in range(n_c)]
    share = np.linspace(2.0, 1.0, n_c)
    share /= share.sum()
    return Vocab(
        source="builtin",
        path=None,
        sha256=None,
        categories=categories,
        category_share=share,
        tags=tags,
        surface=surface,
        tag_count=mat.sum(0),
        tag_main_cat=mat.argmax(0),
        cat_tag_ids=ids,
        cat_tag_cum=[np.cumsum(mat[c, i]) for c, i in enumerate(ids)],
        captions=[[json.dumps(f"{c} 日常分享 #{_BUILTIN_VOCAB[k][1][0]}", ensure_ascii=False)]
                  for k, c in enumerate(categories)],
        caption_present=0.87,
        ntags_pmf=np.array([0.43, 0.14, 0.11, 0.09, 0.07, 0.15, 0.01]),
    )


def load_calibration(path: Path | None) -> Calibration:
    """The calibration from the KuaiRand log extract (TSV; None: the built-in constants).

    Watch ratio ``play_time_ms / duration_ms`` quantiles (201 points, capped at :data:`WR_MAX`)
    per duration quartile, the log-normal of ``duration_ms``, comment/share/follow rates on liked
    and (deflated) hated rows, and the UTC hour histogram of ``time_ms`` shifted to China Standard
    Time as the local-hour curve.
    """
    if path is None:
        local = np.roll(_FALLBACK_DIURNAL_UTC, 8)
        return Calibration(
            source="builtin", path=None, sha256=None,
            dur_edges=np.array([9876.0, 16783.0, 46924.75]), wr_q=_FALLBACK_WR_Q,
            dur_logmu=10.049, dur_logsd=1.050, null_duration=0.185,
            comment_like=0.0355, comment_nolike=0.0075 * 0.5,
            share_like=0.0063, share_nolike=0.0142 * 0.5,
            follow_like=0.0090, follow_nolike=0.0090 * 0.1,
            diurnal_local=local / local.sum(),
            stats={"watch_ratio_median": 0.800, "watch_ratio_mean": 0.890, "long_view": 0.462,
                   "comment": 0.0301, "forward": 0.0078, "follow": 0.0073, "rows": 0},
        )
    import pandas as pd

    k = pd.read_csv(
        path, sep="\t",
        usecols=["time_ms", "is_follow", "is_comment", "is_forward", "long_view", "play_time_ms",
                 "duration_ms", "label"],
    )
    d = k[k["duration_ms"] > 0]
    dur = d["duration_ms"].to_numpy(np.float64)
    wr = d["play_time_ms"].to_numpy(np.float64) / dur
    edges = np.quantile(dur, [0.25, 0.5, 0.75])
    b = np.searchsorted(edges, dur, side="right")
    qs = np.linspace(0.0, 1.0, 201)
    wr_q = np.vstack([np.quantile(np.minimum(wr[b == i], WR_MAX), qs) for i in range(4)])
    liked = k[k["label"] == 1]
    hated = k[k["label"] == 0]
    hours = ((k["time_ms"].to_numpy() // HOUR_MS) % 24).astype(int)
    utc = np.bincount(hours, minlength=24).astype(np.float64)
    local = np.roll(utc, 8)  # UTC hour h is CST hour h+8
    logd = np.log(dur)
    return Calibration(
        source="kuairand",
        path=str(path),
        sha256=_sha256(path),
        dur_edges=edges,
        wr_q=wr_q,
        dur_logmu=float(logd.mean()),
        dur_logsd=float(logd.std()),
        null_duration=float((k["duration_ms"] <= 0).mean()),
        comment_like=float(liked["is_comment"].mean()),
        comment_nolike=float(hated["is_comment"].mean()) * 0.5,
        share_like=float(liked["is_forward"].mean()),
        share_nolike=float(hated["is_forward"].mean()) * 0.5,
        follow_like=float(liked["is_follow"].mean()),
        follow_nolike=float(liked["is_follow"].mean()) * 0.1,
        diurnal_local=local / local.sum(),
        stats={
            "watch_ratio_median": round(float(np.median(wr)), 4),
            "watch_ratio_mean": round(float(wr.mean()), 4),
            "long_view": round(float(k["long_view"].mean()), 4),
            "comment": round(float(k["is_comment"].mean()), 5),
            "forward": round(float(k["is_forward"].mean()), 5),
            "follow": round(float(k["is_follow"].mean()), 5),
            "rows": int(len(k)),
        },
    )
