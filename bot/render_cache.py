"""What the wording keeps across loads and processes, by the text of each template: its
compiled code (jinja's bytecode cache, which checks the source's checksum) and the names
of the templates it includes, imports or extends. Both follow from the text alone, so
an edited template is never served from here: its new text is looked up anew.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import jinja2
import jinja2.meta


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept by name and source (jinja checks the source's checksum):
    in memory, so a reload compiles only the templates whose text changed, and in
    jinja's per-user cache folder, so a new process (``sanliang check``, a restart)
    does not compile them all again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._disk: jinja2.FileSystemBytecodeCache | None = None
        self._no_disk = False

    def disk(self) -> jinja2.FileSystemBytecodeCache | None:
        if self._disk is None and not self._no_disk:
            try:
                self._disk = jinja2.FileSystemBytecodeCache()
            except (OSError, RuntimeError):  # no private temporary folder: memory only
                self._no_disk = True
        return self._disk

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)
            if bucket.code is not None:
                return
        disk = self.disk()
        if disk is not None:
            try:
                disk.load_bytecode(bucket)
            except (OSError, ValueError, EOFError):
                bucket.reset()

    def holds(self, name: str, source: str) -> bool:
        """Whether the code of template ``name`` compiled from this very ``source`` is kept
        (a template is kept only once it compiled), without reading the code itself."""
        key = self.get_cache_key(name)
        checksum = self.get_source_checksum(source)
        code = self._code.get(key)
        if code is not None:
            return _holds(io.BytesIO(code), checksum)
        disk = self.disk()
        if disk is None:
            return False
        try:
            with open(os.path.join(disk.directory, disk.pattern % (key,)), "rb") as f:
                return _holds(f, checksum)
        except OSError:
            return False

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()
        disk = self.disk()
        if disk is not None:
            try:
                disk.dump_bytecode(bucket)
            except OSError:
                pass


def _holds(f: BinaryIO, checksum: str) -> bool:
    """The start of a kept template as jinja reads it (``Bucket.load_bytecode``): its
    version of jinja, and the checksum of the source it was compiled from."""
    magic = jinja2.bccache.bc_magic
    if f.read(len(magic)) != magic:
        return False
    try:
        return bool(pickle.load(f) == checksum)  # noqa: S301 - jinja's own cache file
    except Exception:  # noqa: BLE001 - whatever is there, it is not that template
        return False


COMPILED = CompiledTemplates()


def references(source: str) -> tuple[str, ...]:
    """The templates ``source`` includes, imports or extends by a literal name."""
    # Only a tag that starts with one of those words can name a template: a source without
    # one is not parsed (parsing every template took a fifth of a content load).
    if not _REFERENCE_TAG.search(source):
        return ()
    return _references_in(source)


_REFERENCE_TAG = re.compile(r"\{%[-+]?\s*(?:include|import|from|extends)\b")


@lru_cache(maxsize=4096)
def _references_in(source: str) -> tuple[str, ...]:
    # Kept by source, in memory (a reload parses only what changed) and beside the
    # compiled templates (a new process does not parse them again: a sixth of the
    # wording's load).
    kept = _references_file(source)
    if kept is not None:
        try:
            found = json.loads(kept.read_text(encoding="utf-8"))
            if isinstance(found, list) and all(isinstance(r, str) for r in found):
                return tuple(found)
        except (OSError, ValueError):
            pass
    refs = jinja2.meta.find_referenced_templates(_PARSER.parse(source))
    out = tuple(r for r in refs if r is not None)
    if kept is not None:
        try:  # whole or not at all: another process may be reading it
            partial = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(list(out)), encoding="utf-8")
            os.replace(partial, kept)
        except OSError:
            pass
    return out


_PARSER = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_REFS_VERSION = "1"  # of how the names are found: a change reads every template again


def _references_file(source: str) -> Path | None:
    disk = COMPILED.disk()
    if disk is None:
        return None
    key = hashlib.sha256(f"{_REFS_VERSION}\n{jinja2.__version__}\n{source}".encode()).hexdigest()
    return Path(disk.directory) / f"sanliang-refs-{key}.json"
