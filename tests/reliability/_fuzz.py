"""Shared fuzzing harness: run one reader call with time and memory bounds and check that
only :class:`~spatial_xr.errors.SpatialXRError` subclasses escape.

Example counts: ``CI_EXAMPLES`` per fuzz test in the normal run; the ``slow`` variants
(``pytest -m slow tests/reliability``) run ``SLOW_EXAMPLES``. The environment variable
``SPATIAL_XR_FUZZ_EXAMPLES`` overrides both (see docs/reliability.md).
"""

from __future__ import annotations

import os
import signal
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dask
from hypothesis import HealthCheck, settings

from spatial_xr.errors import SpatialXRError

CI_EXAMPLES = 40
SLOW_EXAMPLES = 1500
SECONDS_PER_CASE = 20
"""Wall-clock bound of one example (open + compute); generous for a shared CI machine."""
BYTES_PER_CASE = 96 << 20
"""Allocation bound of one example (tracemalloc peak); inputs are at most a few MB."""

COUNTS = {"examples": 0, "opened": 0, "refused": 0}
"""Tally over the session (reported by the fuzz tests' summary test and docs)."""


def examples(slow: bool) -> int:
    override = os.environ.get("SPATIAL_XR_FUZZ_EXAMPLES")
    if override:
        return int(override)
    return SLOW_EXAMPLES if slow else CI_EXAMPLES


def fuzz_settings(slow: bool = False) -> settings:
    return settings(
        max_examples=examples(slow),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
        derandomize=not slow and not os.environ.get("SPATIAL_XR_FUZZ_EXAMPLES"),
        database=None,
    )


class CaseTimeout(Exception):
    """One fuzz example ran longer than ``SECONDS_PER_CASE`` (a hang)."""


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"fuzz example took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_bounded(action: Callable[[], Any]) -> BaseException | None:
    """Run ``action`` (open + compute) in this thread with the dask synchronous scheduler,
    bounded in time (SIGALRM) and traced memory; return the SpatialXRError it raised, if
    any. Any other exception, a timeout or an allocation over the bound fails the test."""
    COUNTS["examples"] += 1
    tracemalloc.start()
    error: BaseException | None = None
    try:
        with (
            _alarm(SECONDS_PER_CASE),
            dask.config.set(scheduler="synchronous"),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            try:
                action()
            except SpatialXRError as exc:
                error = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BYTES_PER_CASE, f"one example allocated {peak} bytes"
    COUNTS["refused" if error is not None else "opened"] += 1
    if error is not None:
        assert str(error), "a SpatialXRError must carry a message"
    return error
