"""Base classes of the wire models: inbound models are strict, outbound models forbid extras."""

from __future__ import annotations

import re
import uuid

from pydantic import BaseModel, ConfigDict

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
ID_RE = re.compile(ID_PATTERN)
META_MAX_BYTES = 4096
CONTRACT_VERSION = "1"
"""The major version in schema ids; the contract document is v1.1 (additive)."""


class Inbound(BaseModel):
    """Unknown keys are ignored (forward compatibility); wrong types are errors, never coerced."""

    model_config = ConfigDict(extra="ignore", strict=True)


class Outbound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


def new_id() -> str:
    return uuid.uuid4().hex
