"""Files that must not be lost or half-written, one copy of each mechanism: proving a folder
takes files before long work, writing atomically, and reading YAML without running code."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gamepit.errors import GamepitError


def writable_folder(path: str | os.PathLike[str], purpose: str) -> Path:
    """Create ``path`` if needed and prove it takes files, before long work writes there: a bad
    folder is one line at the start, not a traceback (or a lost result) at the end."""
    folder = Path(path)
    made = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".gamepit-probe-")
        try:
            left = bytes(1024)  # a full disk fails here, not after the work
            while left:
                left = left[os.write(handle, left):]
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as error:
        if made and folder.is_dir():  # a folder it made for nothing is not left behind
            folder.rmdir()
        raise GamepitError(f"{purpose} {folder}: {error.strerror or error}") from None
    return folder


def plain_output(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as an output file: a new path or a regular file, never a device (``/dev/full``
    would be replaced by a plain file), a folder, a pipe or a symbolic link (written through,
    it would change a file elsewhere). One line (GamepitError) otherwise."""
    path = Path(path)
    if path.is_symlink():
        raise GamepitError(f"{what} {path} is a symbolic link; give the file itself")
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "a device or other special file"
        raise GamepitError(f"{what} {path} is {kind}, not a regular file")
    return path


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; when the block ends without an
    error the file is flushed to disk and renamed over ``path``, so a reader (or a run killed
    mid-write) sees the old file or the new one, never half of one. The temporary keeps the
    suffix of ``path``, for writers that choose a format by it."""
    path = plain_output(path, "output")
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield temporary
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except (OSError, RuntimeError) as error:  # torch says a short write in its own words
        if getattr(error, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or any(
                words in str(error) for words in ("unexpected pos", "failed writing")):
            why = getattr(error, "strerror", None) or "a short write: is the disk full?"
            raise GamepitError(f"{path}: could not be written ({why}); nothing half-written "
                               "was left") from None
        raise
    finally:
        temporary.unlink(missing_ok=True)


YAML_MAX_BYTES = 1_000_000  # settings and line-ups are a few kilobytes
YAML_MAX_DEPTH = 50  # nesting; far past any config, far short of Python's recursion limit


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping with a safe loader that also refuses aliases (no alias bombs), files
    over ``YAML_MAX_BYTES`` and nesting past ``YAML_MAX_DEPTH``; a missing file, bad YAML, a
    bad tagged value (``!!int 'x'``) or anything but a mapping is one ``GamepitError`` line
    naming the file and, where known, the line."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed", self.peek_event().start_mark)
            self.depth += 1
            try:
                if self.depth > YAML_MAX_DEPTH:
                    raise yaml.composer.ComposerError(
                        None, None, f"nested deeper than {YAML_MAX_DEPTH} levels",
                        self.peek_event().start_mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except (ValueError, TypeError, OverflowError) as error:
                raise yaml.constructor.ConstructorError(
                    None, None, f"bad value {node.value!r} for {node.tag}: {error}",
                    node.start_mark) from None

    path = Path(path)
    try:
        if path.stat().st_size > YAML_MAX_BYTES:
            raise GamepitError(f"{path}: larger than {YAML_MAX_BYTES:,} bytes; not a config")
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506
    except FileNotFoundError:
        raise GamepitError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GamepitError(f"{path}: cannot read: {error}") from None
    except RecursionError:
        raise GamepitError(f"{path}: bad YAML: nested too deeply") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(error, "problem", None) or "not valid YAML").split())
        raise GamepitError(f"{path}: bad YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GamepitError(f"{path}: expected a mapping of key: value, got {type(data).__name__}")
    return {str(key): value for key, value in data.items()}
