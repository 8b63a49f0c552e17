"""Content files an admin may replace: where an uploaded file goes, how a change is
checked before it touches the real content, atomic writes, short diffs, and adding
an example question to a topic's front matter without touching the rest of the file.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.content import Content, LineDict, Report, load_content, parse_yaml, split_front_matter
from bot.manifest import FALLBACK_LOCALE, MANIFEST

MAX_UPLOAD_BYTES = 200 * 1024
# The folders of the content root that load_content reads (from the manifest). A change
# is checked on a temporary copy of exactly these, with the new file in place.
CONTENT_DIRS = MANIFEST.folders
POLICY_DIR = MANIFEST.file("topics").folder
MAX_DIFF_LINES = 40
MAX_DIFF_CHARS = 2500
MAX_EXAMPLE_CHARS = 100

_TOPIC_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:(.*)$")


class UploadRejected(Exception):
    """A file that cannot be taken; ``reason`` names the template to explain why."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.context = context


def target_for(
    root: Path,
    file_name: str,
    topic_ids: set[str] | frozenset[str],
    locale: str = FALLBACK_LOCALE,
) -> str:
    """The path (relative to the content root, with '/') an uploaded file replaces.

    The manifest says which names may be uploaded (``ContentFile.upload``): a fixed
    name maps to its one file; a family member (``*.md``, ``labels-*.yml``) to the
    family's file of that name when there is one, else to a new member where the
    family allows it. A name that fits no declaration, or two, is refused."""
    name = (file_name or "").strip()
    if not name or "/" in name or "\\" in name or ".." in name or not _FILE_NAME.match(name):
        raise UploadRejected("bad_name")
    lower = name.lower()
    if lower.endswith(".yaml"):
        lower = lower[: -len(".yaml")] + ".yml"
    _stem, dot, ext = lower.rpartition(".")
    if not dot:
        raise UploadRejected("bad_type")
    if ext not in _UPLOAD_TYPES:
        raise UploadRejected("bad_type")
    fixed = [f for f in MANIFEST.uploadable() if f.upload == lower]
    if fixed:
        return fixed[0].resolve(locale)
    existing: list[str] = []
    new: list[str] = []
    bad_id = False
    for f in MANIFEST.uploadable():
        member = _member(f.upload or "", lower)
        if member is None:
            continue
        if not _TOPIC_ID.match(member):
            bad_id = True
            continue
        rel = f.resolve(locale, member)
        if (root / rel).is_file():
            existing.append(rel)
        elif f.new == "any" or (f.new == "topic" and member in topic_ids):
            new.append(rel)
    found = existing or new
    if len(found) == 1:
        return found[0]
    if bad_id and not found:
        raise UploadRejected("bad_name")
    raise UploadRejected("unknown_file")


# What an upload may be: the types of the files the manifest lets admins upload.
_UPLOAD_TYPES = {(f.upload or "").rpartition(".")[2] for f in MANIFEST.uploadable()}


def _member(pattern: str, name: str) -> str | None:
    """The part of ``name`` that ``*`` stands for in ``pattern`` (None: no match)."""
    head, star, tail = pattern.partition("*")
    if not star or len(name) <= len(head) + len(tail):
        return None
    if name.startswith(head) and name.endswith(tail):
        return name[len(head) : len(name) - len(tail)]
    return None


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected("too_big", limit_kb=MAX_UPLOAD_BYTES // 1024)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRejected("not_utf8") from None
    if "\x00" in text:
        raise UploadRejected("not_utf8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UploadRejected("empty")
    return text if text.endswith("\n") else text + "\n"


def safe_path(root: Path, rel: str) -> Path:
    """``root / rel``, refusing anything that would leave the content folders or that
    is not a content file the manifest lets admins replace."""
    parts = Path(rel).parts
    if not parts or parts[0] not in CONTENT_DIRS or any(p in ("..", "") for p in parts):
        raise UploadRejected("bad_name")
    declared = MANIFEST.owner(Path(rel).as_posix())
    if declared is None or declared.upload is None:
        raise UploadRejected("bad_name")
    path = (root / rel).resolve()
    base = (root / parts[0]).resolve()
    if base not in path.parents:
        raise UploadRejected("bad_name")
    return path


def read_current(root: Path, rel: str) -> str | None:
    path = safe_path(root, rel)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def check_change(
    root: Path,
    rel: str,
    text: str | None,
    locale: str = FALLBACK_LOCALE,
    workdir: Path | None = None,
) -> tuple[Content, Report]:
    """Load the whole content as it would be with ``rel`` replaced by ``text`` (or
    removed when None), on a temporary copy: the real files are not touched.

    The copy is made in a new folder under ``workdir`` when given: a caller that runs
    this in a child process it may kill passes its own folder and removes it itself."""
    safe_path(root, rel)
    with tempfile.TemporaryDirectory(prefix="sanliang-check-", dir=workdir) as tmp:
        base = Path(tmp)
        for folder in CONTENT_DIRS:
            if (root / folder).is_dir():
                shutil.copytree(root / folder, base / folder)
        target = base / rel
        if text is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return load_content(base, locale)


def write_atomic(root: Path, rel: str, text: str | None) -> None:
    """Replace the file in one step (temporary file + os.replace); None removes it."""
    path = safe_path(root, rel)
    if text is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def short_diff(old: str | None, new: str | None, name: str) -> str:
    """A unified diff with one line of context, trimmed to fit a chat message."""
    lines = list(
        difflib.unified_diff(
            (old or "").splitlines(),
            (new or "").splitlines(),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
            n=1,
            lineterm="",
        )
    )
    if not lines:
        return ""
    out, size = [], 0
    for i, line in enumerate(lines):
        if len(line) > 200:
            line = line[:200] + "…"
        if i >= MAX_DIFF_LINES or size + len(line) > MAX_DIFF_CHARS:
            out.append(f"… (+{len(lines) - i})")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


# -- adding an example question to a topic --------------------------------------


class EditFailed(Exception):
    pass


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def add_question(text: str, question: str) -> str:
    """``text`` (a topic file) with ``question`` appended to ``questions:`` in its front
    matter. Only the inserted characters differ; everything else stays byte-identical.
    Raises EditFailed when the front matter is not in a shape this can edit safely."""
    question = " ".join(question.split())
    if not question or len(question) > MAX_EXAMPLE_CHARS:
        raise EditFailed("question length")
    front, _body, _line = split_front_matter(text)
    if front is None:
        raise EditFailed("no front matter")
    before = _questions(front)
    if question in before:
        raise EditFailed("already listed")
    lines = text.splitlines(keepends=True)
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    key = next(
        (i for i in range(1, end) if re.match(r"^questions\s*:", lines[i])),
        None,
    )
    if key is None:
        raise EditFailed("no questions key")
    quoted = json.dumps(question, ensure_ascii=False)  # a valid YAML double-quoted scalar
    rest = _KEY_LINE.match(lines[key].rstrip("\n")).group(2)  # type: ignore[union-attr]
    value = rest.split(" #", 1)[0].strip()
    if value.startswith("[") and value.endswith("]"):
        # Flow style on one line: add before the closing bracket.
        close = lines[key].rindex("]", 0, len(lines[key].split(" #", 1)[0]) + 1)
        sep = ", " if value[1:-1].strip() else ""
        lines[key] = lines[key][:close] + sep + quoted + lines[key][close:]
    elif value == "":
        # Block style: items follow, each "- ..." at one indent; add after the last.
        last, item_indent = None, None
        for i in range(key + 1, end):
            line = lines[i]
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            ind = _indent(line)
            if item_indent is None:
                if not stripped.startswith("-"):
                    break
                item_indent = ind
            if ind == item_indent and (stripped.startswith("- ") or stripped == "-"):
                last = i
            elif ind > item_indent:
                last = i  # a continuation of the item above
            else:
                break
        if last is None or item_indent is None:
            raise EditFailed("empty questions block")
        newline = "\n" if lines[last].endswith("\n") else ""
        if not newline:
            lines[last] += "\n"
        lines.insert(last + 1, " " * item_indent + "- " + quoted + "\n")
    else:
        raise EditFailed("questions in an unexpected shape")
    new_text = "".join(lines)
    new_front, _b, _l = split_front_matter(new_text)
    if new_front is None or _questions(new_front) != [*before, question]:
        raise EditFailed("the edit did not give the expected list")
    return new_text


def _questions(front: str) -> list[str]:
    report = Report(Path("."))
    meta = parse_yaml(front, "front matter", report)
    if not isinstance(meta, LineDict) or report.errors:
        raise EditFailed("front matter does not parse")
    value = meta.get("questions")
    if not isinstance(value, list):
        raise EditFailed("questions is not a list")
    return [str(v) for v in value]
