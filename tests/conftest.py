"""Shared fixtures: small corpora written by the tests themselves."""

from __future__ import annotations

import pytest

EN_LINES = [
    "The cat sat on the mat.",
    "A dog chased the cat, and the cat ran away!",
    "Dogs and cats are animals; birds are animals too.",
    "The quick brown fox jumps over the lazy dog.",
    "Don't stop believing: it's only 3.5 miles.",
    "Café naïve résumé — Unicode words.",
] * 20

ZH_LINES = [
    "我爱北京天安门",
    "今天天气很好，我们去公园散步。",
    "这个手机很好用，我很喜欢。",
    "中国人民银行发布了新的政策。",
] * 20


@pytest.fixture
def en_corpus(tmp_path):
    path = tmp_path / "en.txt"
    path.write_text("\n".join(EN_LINES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def zh_corpus(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_text("\n".join(ZH_LINES) + "\n", encoding="utf-8")
    return path
