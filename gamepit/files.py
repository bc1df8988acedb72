"""Files that must not be lost or half-written, one copy of each mechanism: proving a folder
takes files before long work, writing atomically, and reading YAML without running code."""

from __future__ import annotations

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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gamepit-probe-"):
            pass
    except OSError as error:
        raise GamepitError(f"{purpose} {folder}: {error.strerror or error}") from None
    return folder


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; when the block ends without an
    error the file is flushed to disk and renamed over ``path``, so a reader (or a run killed
    mid-write) sees the old file or the new one, never half of one. The temporary keeps the
    suffix of ``path``, for writers that choose a format by it."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield temporary
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping (``safe_load``: no tags, nothing becomes code); a missing file, bad
    YAML or anything but a mapping is one ``GamepitError`` line."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GamepitError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GamepitError(f"{path}: cannot read: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise GamepitError(f"{path}: bad YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GamepitError(f"{path}: expected a mapping of key: value, got {type(data).__name__}")
    return {str(key): value for key, value in data.items()}
