"""structlog setup: human-readable on a terminal, one JSON object per line otherwise.

``node.log_format`` / ``--log-format``: ``auto`` (console on a TTY, JSON when stderr is not one),
``console`` or ``json``. The CLI's own reports (the demo's summary) follow the same choice.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

_state = {"json": False}


def use_json(fmt: str = "auto") -> bool:
    """Whether ``fmt`` means JSON lines here (``auto``: when stderr is not a terminal)."""
    return fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())


def json_logs() -> bool:
    """The choice the last :func:`setup_logging` made."""
    return _state["json"]


def setup_logging(level: str = "info", fmt: str = "auto") -> None:
    as_json = use_json(fmt)
    _state["json"] = as_json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    # Libraries' stdlib log records get the same format, so the console holds one kind of line.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.stdlib.PositionalArgumentsFormatter(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if getattr(h, "_avatar_node", False) is False]
    handler._avatar_node = True  # type: ignore[attr-defined]
    root.handlers.append(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


@contextmanager
def quiet(level: str = "critical") -> Iterator[None]:
    """Only ``level`` and worse are logged inside; the previous set-up comes back after."""
    config, root = structlog.get_config(), logging.getLogger()
    old_level = root.level
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper()))
    )
    root.setLevel(level.upper())
    try:
        yield
    finally:
        structlog.configure(**config)
        root.setLevel(old_level)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
