"""Read a PyTorch checkpoint safely, and say in one line why a file cannot be read.

:func:`load_weights` is ``torch.load(path, map_location="cpu", weights_only=True)``. When torch
refuses a file, the file is examined without running it (its pickle opcodes are listed, never
executed) to tell apart:

- a corrupt or truncated file, or one that is no PyTorch checkpoint at all:
  ``{path}: not a PyTorch checkpoint (...)``;
- a pickle that would import and call something other than tensors and plain containers:
  ``{path}: contains code objects; refused (...)``.

Each failure is one :class:`~avatar_node.errors.CheckpointError` whose message is one line and
whose ``path`` is the file. Used by the VITS and Wav2Lip checkpoint loaders.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import IO, Any

from .errors import CheckpointError

ZIP_MAGIC = b"PK\x03\x04"
# What torch's weights-only unpickler may import besides torch's own classes and functions.
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("collections", "Counter"),
    ("_codecs", "encode"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("builtins", "complex"),
    ("__builtin__", "set"),
}
_STRING_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
}


def load_weights(path: str | Path, what: str = "checkpoint") -> Any:
    """``torch.load`` a weights-only checkpoint on the CPU; one-line CheckpointError on failure.

    ``what`` names the kind of file in the "not found" message (e.g. ``Wav2Lip checkpoint``).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} not found: {path}", path=str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here; each is diagnosed below
        raise CheckpointError(diagnose(path, exc), path=str(path)) from exc


def diagnose(path: Path, exc: BaseException | None = None) -> str:
    """One line saying why ``path`` is not a loadable weights-only checkpoint."""
    try:
        head = path.open("rb").read(4)
    except OSError as err:
        return f"{path}: cannot read the file ({err.strerror or err})"
    if not head:
        return f"{path}: not a PyTorch checkpoint (the file is empty)"
    try:
        if head == ZIP_MAGIC:
            found = _scan_zip(path)
        elif head[0] == pickle.PROTO[0]:
            with path.open("rb") as f:
                found = _scan_legacy(f)
        else:
            return f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle)"
    except _Corrupt as err:
        return f"{path}: not a PyTorch checkpoint (corrupt or truncated: {err})"
    if found:
        return (
            f"{path}: contains code objects; refused (it would import {found} when loaded; "
            "only weights-only checkpoints are read)"
        )
    if isinstance(exc, EOFError):
        return f"{path}: not a PyTorch checkpoint (truncated: the file ends early)"
    reason = _first_line(exc).split(". ")[0] if exc is not None else "unknown content"
    return f"{path}: not a PyTorch checkpoint (corrupt or truncated: {reason})"


class _Corrupt(Exception):
    pass


def _scan_zip(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("data.pkl")]
            if not names:
                raise _Corrupt("zip archive without data.pkl")
            data = zf.read(names[0])
            damaged = zf.testzip()  # every tensor's bytes must be intact (CRC)
            if damaged is not None:
                raise _Corrupt(f"damaged member {damaged}")
    except zipfile.BadZipFile as err:
        raise _Corrupt(f"damaged zip archive: {err}") from err
    except (OSError, EOFError) as err:
        raise _Corrupt(str(err) or type(err).__name__) from err
    return _unsafe_global(io.BytesIO(data))


def _scan_legacy(f: IO[bytes]) -> str | None:
    """Legacy format: magic number, protocol, system info, then the object, each a pickle."""
    for _ in range(4):
        found = _unsafe_global(f)
        if found:
            return found
    return None


def _unsafe_global(f: IO[bytes]) -> str | None:
    """The first import of one pickle that is not safe, else None. The pickle is read to its
    STOP first: a stream that breaks anywhere is corrupt (random bytes can look like an import
    before they stop making sense), only a well-formed pickle can be called unsafe."""
    strings: list[str] = []
    found: str | None = None
    try:
        for op, arg, _pos in pickletools.genops(f):
            name = op.name
            if name in _STRING_OPS and isinstance(arg, str | bytes):
                strings.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
                continue
            if found is not None:
                continue
            if name == "GLOBAL" and isinstance(arg, str):
                module, _, attr = arg.partition(" ")
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                module, attr = strings[-2], strings[-1]
            elif name in ("INST", "OBJ"):
                found = f"an object built by {name}"
                continue
            else:
                continue
            if not _safe(module, attr):
                found = f"{module}.{attr}"
    except (
        ValueError,
        EOFError,
        UnicodeDecodeError,
        pickle.UnpicklingError,
        MemoryError,  # a random length field asks for gigabytes
        OverflowError,
    ) as err:
        raise _Corrupt(_first_line(err) or type(err).__name__) from err
    return found


def _safe(module: str, attr: str) -> bool:
    return module == "torch" or module.startswith("torch.") or (module, attr) in _SAFE_GLOBALS


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    if not text and exc is not None:
        text = type(exc).__name__
    return text[:160]
