"""Contract helpers: hashtag normalisation and RFC 3339 detection."""

from __future__ import annotations

import pytest

from reelhouse.sources.contract import is_rfc3339_with_offset, normalize_hashtag, normalize_hashtags


@pytest.mark.parametrize("raw", ["#Dance", "dance", "ＤＡＮＣＥ", "  #DANCE ", "##dance", "＃Dance"])
def test_one_tag_after_normalisation(raw):
    assert normalize_hashtag(raw) == "dance"


def test_chinese_emoji_and_casefold():
    assert normalize_hashtag("#萌宠驾到") == "萌宠驾到"
    assert normalize_hashtag("#🐶") == "🐶"
    assert normalize_hashtag("Straße") == "strasse"  # full case folding, not lower()
    assert normalize_hashtag("#") == ""


def test_list_normalisation_dedupes_and_drops_empty():
    assert normalize_hashtags(["#A", "a", "", "#", "B", None]) == ["a", "b"]
    assert normalize_hashtags(None) is None


@pytest.mark.parametrize("value,ok", [
    ("2024-01-02T05:10:00Z", True), ("2024-01-02T05:10:00.123456+08:00", True), ("2024-01-02 05:10:00-05:00", True),
    ("2024-01-02T05:10:00", False), ("2024-01-02", False), ("1704172200000", False),
])
def test_rfc3339_needs_an_offset(value, ok):
    assert is_rfc3339_with_offset(value) is ok
