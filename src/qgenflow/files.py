"""Atomic file writes that honour the umask.

Every file qgenflow writes (artefacts, tables, figures, the publish folder) is
written to a temporary sibling and renamed into place, so a killed job never
leaves a file that looks complete. ``tempfile.mkstemp`` creates its file with
mode 0600 whatever the umask; the file is given the mode any other tool would
create (0666 less the umask: 0644 under umask 022) before it is renamed, so
collaborators sharing a project folder can read the results.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "default_file_mode", "write_text_atomic"]


def default_file_mode() -> int:
    """The mode a new regular file gets under the current umask (0666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(dest: str | Path, *, fsync: bool = False) -> Iterator[Path]:
    """A temporary path next to ``dest``; renamed onto ``dest`` if the block succeeds.

    Parent folders are created. On any exception the temporary file is removed and
    ``dest`` is left as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, default_file_mode())
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(dest: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically; returns ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)
