"""A small run of `python -m bench`, so the benchmark keeps working. Asserts counts, never times."""

from __future__ import annotations

import json
from pathlib import Path

from bench.__main__ import bench


async def test_bench_runs_and_every_command_is_answered(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    report = await bench(commands=24, concurrencies=[3], channels=2, out=out)
    assert json.loads(out.read_text()) == report
    runs = {run["app"]: run for run in report["runs"]}
    assert set(runs) == {"bot", "bare-bolt"}
    for run in runs.values():
        assert run["commands"] == 24 and run["answered"] == 24
        assert run["ack_p99_ms"] is not None and run["answered_per_s"] is not None
    # A status change with warm caches costs its one answer, and one redraw of the channel's
    # pinned card (the bench's channels have one: they were declared).
    expected = {"chat.postMessage": 1.0, "chat.update": 1.0}
    assert report["calls_per_command"]["status monitoring"] == expected
    assert report["calls_per_command"]["ack"] == expected
