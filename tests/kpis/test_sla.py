"""SLA attainment on the hand-built CRM and activity logs of :mod:`tests.kpis.crm_log`."""

from __future__ import annotations

import polars as pl
import pytest

import attribution as at
from attribution.kpis.sla import sla_attainment
from tests.kpis.crm_log import d


def test_sla_attainment_by_hand(crm, acts):
    sla = sla_attainment(
        crm,
        acts,
        mql_commitment={"2024-01-01": 5, "2024-02-15": 4},  # 02-15 is February's target
        follow_up=("24h", "5m"),
        follow_up_target={"24h": 0.6, "5m": 0.5},
        max_attempts=4,
    )
    assert sla.columns == ["period", "team", "metric", "actual", "target", "attained", "base"]
    got = {(r["period"].month, r["metric"]): r for r in sla.iter_rows(named=True)}
    assert len(got) == 8  # 2 months x 4 metrics

    # MQLs (first pass): Jan 1, 2 (skip), 3 (its re-entry not again), 5, 9, 12 = 6 >= 5;
    # Feb 8, 10, 11 = 3 < 4
    assert [got[(m, "mqls_delivered")]["actual"] for m in (1, 2)] == [6.0, 3.0]
    assert [got[(m, "mqls_delivered")]["attained"] for m in (1, 2)] == [True, False]
    assert got[(1, "mqls_delivered")]["team"] == "marketing"

    # Jan SQLs: 1 (3 min), 2 (2 h), 3 (30 h), 6 (none), 9 (0 min) -> 24 h: 3/5, 5 min: 2/5
    # Feb SQLs: 3 (exactly 5 min), 10 (25 h), 11 (2 h)            -> 24 h: 2/3, 5 min: 1/3
    within = "sql_followed_up_within_"
    assert got[(1, within + "24h")]["actual"] == pytest.approx(0.6)
    assert got[(1, within + "24h")]["attained"] is True  # 0.6 >= 0.6
    assert got[(1, within + "5m")]["actual"] == pytest.approx(0.4)
    assert got[(2, within + "24h")]["actual"] == pytest.approx(2 / 3)
    assert got[(2, within + "5m")]["actual"] == pytest.approx(1 / 3)
    assert got[(2, within + "5m")]["attained"] is False
    assert [got[(m, within + "24h")]["base"] for m in (1, 2)] == [5, 3]

    # attempts from the SQL to the next stage change: Jan 1: 3, 2: 1, 3: 2, 6: 0, 9: 5 -> max 5;
    # Feb 3: 1, 10: 1, 11: 1 (its 02-21 meeting is after its opportunity) -> max 1
    assert [got[(m, "attempts_per_lead")]["actual"] for m in (1, 2)] == [5.0, 1.0]
    assert [got[(m, "attempts_per_lead")]["attained"] for m in (1, 2)] == [False, True]
    assert got[(1, "attempts_per_lead")]["team"] == "sales"


def test_sla_without_activities_reports_marketing_only(crm):
    sla = sla_attainment(crm, mql_commitment=6)
    assert sla.select("metric", "actual", "target", "attained").rows() == [
        ("mqls_delivered", 6.0, 6.0, True),
        ("mqls_delivered", 3.0, 6.0, False),
    ]
    frame = pl.DataFrame({"period": [d(2, 1)], "target": [3.0]})
    by_frame = sla_attainment(crm, mql_commitment=frame)
    assert by_frame["target"].to_list() == [None, 3.0]
    assert by_frame["attained"].to_list() == [None, True]


def test_sla_default_target_requires_every_sql(crm, acts):
    sla = sla_attainment(crm, acts, follow_up="48h")
    # 48 h: Jan all but 6 (4/5); Feb all (3/3); default target 1.0
    rows = sla.filter(pl.col("team") == "sales").select("actual", "target", "attained").rows()
    assert rows == [(pytest.approx(0.8), 1.0, False), (1.0, 1.0, True)]


def test_sla_period_without_sqls_has_null_share(crm, acts):
    march = pl.DataFrame([(50, "2024-03-03", "lead", None, None)], schema=crm.schema, orient="row")
    sla = sla_attainment(crm.vstack(march), acts, follow_up="24h")
    row = sla.filter((pl.col("period") == d(3, 1)) & (pl.col("team") == "sales")).row(0, named=True)
    assert (row["actual"], row["attained"], row["base"]) == (None, None, 0)


def test_sla_error_parameters(crm, acts):
    with pytest.raises(at.ValidationError, match=r"positive durations such as '24h'.*got '1 week'"):
        sla_attainment(crm, acts, follow_up="1 week")
    with pytest.raises(
        at.ValidationError,
        match=r"mql_commitment has 1 targets that are null, "
        r"negative, NaN or infinite \(periods 2024-01-01\)",
    ):
        sla_attainment(crm, mql_commitment={"2024-01-01": -1})
    with pytest.raises(at.ValidationError, match=r"follow_up_target has no target for the window"):
        sla_attainment(crm, acts, follow_up_target={"24h": 0.9})


def test_error_user_id_types_differ(crm, acts):
    with pytest.raises(
        at.SchemaError,
        match=r"User ids are Int64 in the CRM lifecycle log but "
        r"String in the sales activity log",
    ):
        sla_attainment(crm, acts.with_columns(pl.col("user_id").cast(pl.String)))


@pytest.mark.parametrize(("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w")])
def test_sla_pandas_period_aliases_give_the_same_periods(crm, acts, alias, own):
    kw = {"follow_up": "24h", "max_attempts": 4}
    assert sla_attainment(crm, acts, freq=alias, mql_commitment=3, **kw).equals(
        sla_attainment(crm, acts, freq=own, mql_commitment=3, **kw)
    )


def test_sla_commitment_periods_read_by_the_base_layer(crm):
    """Commitment periods may be "2024-01" text, ISO times with Z, or a frame of either."""
    by_month = sla_attainment(crm, mql_commitment={"2024-01": 5, "2024-02-15T09:00:00Z": 4})
    assert by_month["target"].to_list() == [5.0, 4.0]
    frame = pl.DataFrame({"period": ["2024-01", "2024-02-03T10:00:00Z"], "target": [5, 4]})
    assert sla_attainment(crm, mql_commitment=frame).equals(by_month)
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'period' of the mql_commitment frame has 1 values that are not dates or "
        r"times \('soon' at row 1\)",
    ):
        sla_attainment(
            crm, mql_commitment=frame.with_columns(period=pl.Series(["2024-01", "soon"]))
        )
    with pytest.raises(at.ValidationError, match=r"mql_commitment period must be a date or time"):
        sla_attainment(crm, mql_commitment={"next month": 3})


@pytest.mark.parametrize(
    ("commitment", "error", "match"),
    [
        (float("inf"), at.ValidationError, "finite number ≥ 0; got inf"),
        ({"2024-01": float("nan")}, at.ValidationError, "null, negative, NaN or infinite"),
        ({"2024-01": None}, at.ValidationError, "null, negative, NaN or infinite"),
        ({"2024-01": "x"}, at.ValidationError, r"for '2024-01' is 'x'"),
        (
            pl.DataFrame({"period": ["2024-01"], "target": [None]}, schema_overrides={
                "target": pl.Float64}),
            at.ValidationError,
            "null, negative, NaN or infinite",
        ),
        (
            pl.DataFrame({"period": ["2024-01"], "target": ["5"]}),
            at.SchemaError,
            "Column 'target' of the mql_commitment frame has type String",
        ),
    ],
)  # fmt: skip
def test_sla_commitments_that_are_not_finite_numbers_raise(crm, commitment, error, match):
    """A NaN or infinite target was kept and never attained (NaN >= 0 holds in polars), a null
    one in a frame or dict was kept though the rule refused it, a word was a polars error."""
    with pytest.raises(error, match=match):
        sla_attainment(crm, mql_commitment=commitment)


def test_sla_commitment_as_a_numpy_number_and_max_attempts_nan(crm, acts):
    """A numpy integer commitment was refused as 'a int64'; max_attempts=nan a raw ValueError."""
    import numpy as np

    assert sla_attainment(crm, mql_commitment=np.int64(3)).equals(
        sla_attainment(crm, mql_commitment=3)
    )
    with pytest.raises(at.ValidationError, match="max_attempts must be a whole number"):
        sla_attainment(crm, acts, max_attempts=float("nan"))
