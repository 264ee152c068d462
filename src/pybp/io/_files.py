"""Files: paths and binary streams, atomic replacement with self-cleaning
temporary files, bounded reads and number tokens.

Shared by every format module of pybp.io; it knows nothing about formats.
"""
from __future__ import annotations

import math
import os
import re
import secrets
import socket
import stat
import time
import zlib
from collections.abc import Callable
from typing import IO, Any

from pybp.errors import FormatError

# Reads of sizes a file claims go in pieces of this size, so that a false
# claim costs no memory beyond the bytes that are really there.
CHUNK = 1 << 20
# The longest number token any reader accepts.  FANN writes 27 characters
# ("%.20e"), Python's repr at most 24; anything longer is refused before it
# is converted, so no conversion can cost more than constant time.
MAX_NUMBER_CHARS: int = 64
# Temporary files of an atomic save are named
#     .<target name, first 64 chars>.pybp-tmp.<host>.<pid>.<random>
# A save first removes such files left beside its target by a writer that
# died (kill -9, power loss): those of a process of this host that no
# longer runs, and any not modified for STALE_TMP_SECONDS (a writer on
# another host, or on Windows, where a process cannot be probed safely).
TMP_TAG = ".pybp-tmp."
STALE_TMP_SECONDS: float = 3600.0

# Number tokens: unambiguous patterns (each character can be matched in
# one way only), so a match never backtracks more than a constant.
INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
                      r"(?:[eE][+-]?[0-9]+)?")


def show(value: object, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters (for messages)."""
    text = repr(value) if not isinstance(value, str) or len(value) < 4 * limit \
        else repr(value[:4 * limit])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_stream(target: object, method: str) -> bool:
    """Whether target is a file object (not a path) with this method."""
    return not isinstance(target, (str, bytes, os.PathLike)) and hasattr(
        target, method)


def as_path(target: Any, what: str) -> str:
    """target as a str path; TypeError naming `what` if it is none."""
    try:
        return os.fsdecode(os.fspath(target))
    except TypeError:
        raise TypeError(f"{what} must be a path (str or os.PathLike) or a "
                        f"binary file object; got {type(target).__name__} "
                        f"{show(target)}") from None


def parse_int(text: str, what: str) -> int:
    """An integer token (at most 18 digits, optional sign) or FormatError."""
    if len(text) > MAX_NUMBER_CHARS or not INT_RE.fullmatch(text):
        raise FormatError(f"{what} must be an integer; got {show(text)}")
    return int(text)


def parse_float(text: str, what: str) -> float:
    """A finite decimal number token (at most MAX_NUMBER_CHARS characters;
    no inf, nan or underscores) or FormatError."""
    if len(text) > MAX_NUMBER_CHARS:
        raise FormatError(f"{what} is a token of {len(text)} characters; a "
                          f"number has at most {MAX_NUMBER_CHARS}: "
                          f"{show(text)}")
    value = float(text) if FLOAT_RE.fullmatch(text) else None
    if value is None:
        try:
            value = float(text)       # only to say "inf"/"nan" are refused
        except ValueError:
            pass
        if value is None or math.isfinite(value):
            raise FormatError(f"{what} is not a number: {show(text)}")
    if not math.isfinite(value):
        raise FormatError(f"{what} is {show(text)}; values must be finite")
    return value


# ---------------------------------------------------------------------------
# Writing: atomic replacement of a path, or in place on a stream
# ---------------------------------------------------------------------------

def umask() -> int:
    """The process umask, read without changing it (Linux); else 0o022."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_dir(directory):
    """Make a rename in `directory` durable (POSIX; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _host_tag():
    """Eight hex digits naming this host (temporary files of several hosts
    may share a network directory)."""
    return "%08x" % zlib.crc32(socket.gethostname().encode("utf-8", "replace"))


def _tmp_prefix(path):
    return "." + os.path.basename(path)[:64] + TMP_TAG


def _pid_alive(pid):
    """Whether a process with this id runs on this host (POSIX only)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True         # it exists but belongs to someone else
    return True


def remove_stale_temporaries(path, now=None):
    """Remove temporary files that an earlier save to `path` left behind
    when its process died.  Returns the names removed.  Never raises."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _tmp_prefix(path)
    host = _host_tag()
    now = time.time() if now is None else now
    removed = []
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        parts = name[len(prefix):].split(".")
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        dead = False
        if (len(parts) == 3 and parts[0] == host and parts[1].isdigit()
                and os.name == "posix"):
            dead = not _pid_alive(int(parts[1]))
        if dead or now - st.st_mtime > STALE_TMP_SECONDS:
            try:
                os.unlink(full)
                removed.append(name)
            except OSError:
                pass
    return removed


def _create_temporary(path):
    """(fd, name) of a new, exclusive temporary file beside `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_CLOEXEC", 0))
    stem = f"{_tmp_prefix(path)}{_host_tag()}.{os.getpid()}."
    for _ in range(100):
        tmp = os.path.join(directory, stem + secrets.token_hex(6))
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def atomic_write(path: str, write: Callable[[IO[bytes]], Any]) -> None:
    """Call write(f) on a temporary file beside `path`, then move it over
    `path` in one step (os.replace).  On any error the temporary file is
    removed and `path` is left as it was.  Stale temporary files of earlier,
    killed saves to the same path are removed first."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~umask()
    except OSError:
        mode = None
    remove_stale_temporaries(path)
    fd, tmp = _create_temporary(path)
    try:
        with open(fd, "wb", closefd=True) as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def write_to(target: Any, write: Callable[[IO[bytes]], Any],
             what: str = "file") -> None:
    """Write through write(f) to a path (atomically) or a binary stream."""
    if is_stream(target, "write"):
        write(target)
    else:
        atomic_write(as_path(target, what), write)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def read_exact(f: IO[bytes], n: int, what: str,
               exact: bool = True) -> bytearray:
    """n bytes from f, read in pieces; FormatError if fewer are there (or,
    with exact=False, what there is)."""
    buf = bytearray()
    while len(buf) < n:
        piece = f.read(min(CHUNK, n - len(buf)))
        if not piece:
            break
        buf += piece
    if exact and len(buf) < n:
        raise FormatError(f"file is truncated: {what} needs {n} bytes, only "
                          f"{len(buf)} are there")
    return buf


def read_text(file: Any, what: str) -> str:
    """The whole of a text file (path or stream) as a str; it must be ASCII
    (the FANN formats are), else FormatError."""
    if is_stream(file, "read"):
        raw = file.read()
    else:
        with open(as_path(file, what), "rb") as f:
            raw = f.read()
    if isinstance(raw, str):
        if not raw.isascii():
            raise FormatError(f"{what} is not text (ASCII)")
        return raw
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError(f"{what}: the file object's read() returned "
                        f"{type(raw).__name__}, not bytes or str")
    try:
        return bytes(raw).decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not text (ASCII): {exc}") from None
