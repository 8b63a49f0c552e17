"""Rendering: autoescape, labels, plain-text conversion, phone masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.render import Renderer, html_to_plain, mask_phone


def test_user_text_is_escaped(tmp_path: Path):
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "echo.j2").write_text("您说：<b>{{ said }}</b>", encoding="utf-8")
    r = Renderer(tmp_path)
    out = r.render("echo", said="<script>alert(1)</script> & <b>x</b>")
    assert "<script>" not in out
    assert "&lt;script&gt;" in out and "&amp;" in out
    assert out.startswith("您说：<b>")


def test_missing_locale_falls_back_to_zh_cn(tmp_path: Path):
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "hi.j2").write_text("你好", encoding="utf-8")
    (tmp_path / "zh-CN" / "labels.yml").write_text("a.b: 好\n", encoding="utf-8")
    r = Renderer(tmp_path, locale="bo-CN")
    assert r.render("hi") == "你好"
    assert r.label("a.b") == "好"


def test_duplicate_label_keys_are_refused(tmp_path: Path):
    base = tmp_path / "zh-CN"
    (base / "labels").mkdir(parents=True)
    (base / "labels.yml").write_text("x.y: 一\n", encoding="utf-8")
    (base / "labels" / "f.yml").write_text("x.y: 二\n", encoding="utf-8")
    with pytest.raises(ValueError, match="x.y"):
        Renderer(tmp_path)


def test_bundled_templates_all_compile():
    r = Renderer(PROJECT_ROOT / "templates")
    names = r.env.list_templates(extensions=["j2"])
    assert names
    for name in names:
        r.env.get_template(name)


def test_html_to_plain_and_mask_phone():
    assert html_to_plain("<b>低保</b> &amp; 特困 &lt;x&gt;") == "低保 & 特困 <x>"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("+86 138-1234-1234") == "861****1234"
    assert mask_phone("028-12345678") == "028****5678"
    assert mask_phone("") == "****"
