"""Old spellings kept one release: a callable under its old name that warns and delegates."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["renamed"]


def renamed(new: Callable[..., Any], old_name: str, why: str = "") -> Callable[..., Any]:
    """``new`` under ``old_name``, issuing a FutureWarning that names the new spelling.

    Works for functions and for methods (``self`` is passed through).
    """

    @functools.wraps(new)
    def old(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"{old_name} is renamed {new.__name__}{why}; the old name stops working in the next "
            "release.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    old.__name__ = old_name
    owner, _, _ = new.__qualname__.rpartition(".")
    old.__qualname__ = f"{owner}.{old_name}" if owner else old_name
    old.__doc__ = (
        f"The old name of :func:`{new.__name__}` (FutureWarning); see it for the parameters.\n\n"
        + (new.__doc__ or "")
    )
    return old
