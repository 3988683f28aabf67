"""Fixtures of the reader tests."""

from __future__ import annotations

import locale
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _process_locale_restored() -> Iterator[None]:
    """Put the C locale back after each test: SimpleITK's VTK reader, called directly by
    tests as an oracle, sets it to "C", which would make Python's default text encoding
    ASCII for the tests that run after it in the same process."""
    saved = locale.setlocale(locale.LC_ALL, None)
    yield
    if locale.setlocale(locale.LC_ALL, None) != saved:
        locale.setlocale(locale.LC_ALL, saved)
