"""The reference workload the CI guard divides every benchmark by (see ``guard.py``).

It runs first and last in the session (``conftest.py`` orders it), so that a machine whose
load changes during the run is measured on both sides.
"""

from __future__ import annotations

import pytest

from benchmarks.guard import reference_workload


@pytest.mark.quick
@pytest.mark.parametrize("when", ["start", "end"])
def test_reference_workload(benchmark, when):
    benchmark.pedantic(reference_workload(), rounds=15, warmup_rounds=2)
