"""Optional engines (Ray, submitit) are imported only when asked for; without them, one line
naming the install that brings them."""

from __future__ import annotations

import importlib

from balora.errors import UserError


def require(module: str, extra: str, executor: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(f"--executor {executor} needs the {module} package: pip install 'balora[{extra}]'") from None
