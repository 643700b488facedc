"""A Dask cluster for the engines that can run on one: partitioned replays (:mod:`alertsim.scale`) and
simulation replicates (:mod:`alertsim.oncall.simulate`).

>>> with dask_client(None) as client:              # doctest: +SKIP
...     client.submit(sum, [1, 2]).result()
3

An existing client is used as is (and left open):

>>> existing = object()
>>> with dask_client(existing) as client:
...     client is existing
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def dask_client(scheduler: str | Any | None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler``: an address, an existing Client (used as is), or None
    for a temporary two-worker local cluster (closed on exit)."""
    # distributed is an optional extra and slow to import: loaded only when a Dask engine is asked for.
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler
        return
    if isinstance(scheduler, str):
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client
