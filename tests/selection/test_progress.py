"""select_model's progress hook: one event per cell, in table order."""

import numpy as np
import pytest

from gaussmix import select_model
from gaussmix.selection import CellDone


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    return np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(6, 1, (30, 2))])


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_one_event_per_cell_in_table_order(data, n_jobs):
    events = []
    result = select_model(
        data,
        n_components=[1, 2, 3],
        covariance_types=["EII", "VVV"],
        random_state=0,
        n_jobs=n_jobs,
        progress=events.append,
    )
    assert all(isinstance(e, CellDone) for e in events)
    assert [e.n_done for e in events] == list(range(1, 7))
    assert {e.n_total for e in events} == {6}
    assert [(e.n_components, e.covariance_type) for e in events] == [
        (k, name) for k in (1, 2, 3) for name in ("EII", "VVV")
    ]
    for e in events:
        assert e.status == result.status_table_.loc[e.n_components, e.covariance_type]


def test_failed_cells_are_reported_too(data):
    events = []
    select_model(data[:3], n_components=[1, 5], covariance_types=["EII"], progress=events.append)
    assert [e.status for e in events] == ["converged", "failed"]


def test_an_exception_in_the_callback_stops_the_sweep(data):
    seen = []

    def stop(event):
        seen.append(event)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        select_model(data, n_components=[1, 2, 3], covariance_types=["EII"], progress=stop)
    assert len(seen) == 1


def test_progress_must_be_callable(data):
    with pytest.raises(TypeError, match="progress must be a callable"):
        select_model(data, n_components=[1], progress="yes")
