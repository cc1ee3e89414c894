"""The outbox backlog kept for the sync page: the largest depth per period, a bounded ring."""

from __future__ import annotations

from runtime.api.backlog import Backlog


def test_each_period_keeps_its_largest_depth_and_oldest_age():
    backlog = Backlog(period_s=30, keep_s=3600)
    for ts, depth, age in ((1000.0, 5, 1.0), (1010.0, 9, 11.0), (1019.0, 2, 0.5),
                           (1020.0, 4, 3.0), (1049.0, 7, 2.0)):
        backlog.record(ts, depth, age)
    assert backlog.since(0) == {"period_s": 30, "ts": [990.0, 1020.0], "records": [9, 7],
                                "oldest_age_s": [11.0, 3.0]}
    assert backlog.since(1015.0)["ts"] == [990.0, 1020.0]  # 990's period reaches past 1015
    assert backlog.since(1020.0)["ts"] == [1020.0]


def test_only_the_last_keep_s_are_kept():
    backlog = Backlog(period_s=10, keep_s=100)
    for i in range(50):
        backlog.record(i * 10.0, i, 0.0)
    points = backlog.since(0)
    assert len(points["ts"]) == 10 and points["records"][0] == 40 and points["ts"][-1] == 490.0
