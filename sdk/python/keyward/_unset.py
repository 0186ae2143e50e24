"""UNSET: the default of an update's arguments, which leaves a value as it
is (None, where a value can be cleared, sends null and clears it)."""

from __future__ import annotations

import enum
from typing import Any


class Unset(enum.Enum):
    """The type of UNSET."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


def patch_body(**members: Any) -> dict[str, Any]:
    """A PATCH body of the members that are not UNSET."""
    return {k: v for k, v in members.items() if v is not UNSET}
