"""Reliability tests: long fuzz runs are deselected unless asked for with ``-m slow``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.option.markexpr or ""):
        return
    slow = [it for it in items if it.get_closest_marker("slow") and HERE in Path(it.path).parents]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [it for it in items if it not in slow]
