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


def test_renders_without_text_are_kept_and_renders_with_text_are_not(tmp_path: Path):
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "menu.j2").write_text(
        "{% if greeting %}您好！\n{% endif %}请选择 {{ n }}", encoding="utf-8"
    )
    (tmp_path / "zh-CN" / "echo.j2").write_text("您说：{{ said }}", encoding="utf-8")
    r = Renderer(tmp_path)
    assert r.render("menu", greeting=True, n=2) == "您好！\n请选择 2"
    assert r.render("menu", n=2, greeting=True) == "您好！\n请选择 2"
    assert r.render("menu", greeting=False, n=3) == "请选择 3"
    assert r.render("echo", said="我的电话 13800001234") == "您说：我的电话 13800001234"
    assert r.render("echo", said="低保") == "您说：低保"
    kept = repr(r._rendered)
    assert "请选择 2" in kept and "请选择 3" in kept
    assert "13800001234" not in kept and "低保" not in kept  # no user's words are kept
