"""Transaction log -> RFM summary -> CLV: CDNOW, a brute-force summary, properties and errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError
from attribution.clv import BGNBD, GammaGamma, clv_probabilistic, rfm_summary, summarise_clv

# --------------------------------------------------------------------------------------------
# published CDNOW figures


def test_rfm_summary_reproduces_lifetimes_cdnow_summary(cdnow_exact, cdnow_summary):
    """The transactions summarised per day, in weeks, to 1997-09-30 give the shipped summary."""
    joined = cdnow_exact.join(cdnow_summary, left_on="user_id", right_on="ID", how="full")
    assert joined.height == 2357 == cdnow_exact.height
    assert (joined["frequency"] == joined["x"]).all()
    # the shipped file rounds weeks and dollars to 2 decimals
    assert (joined["recency"] - joined["t_x"]).abs().max() <= 0.005 + 1e-9
    assert (joined["T"] - joined["T_right"]).abs().max() <= 0.005 + 1e-9
    repeat = joined.filter(pl.col("x") > 0)
    assert (repeat["monetary_value"] - repeat["zbar"]).abs().max() <= 0.005 + 1e-9
    assert joined.filter(pl.col("x") == 0)["monetary_value"].null_count() == 1411


# --------------------------------------------------------------------------------------------
# rfm_summary against a brute force


def _brute_rfm(rows, end, grain_days, unit_days, grain):
    """Per user: distinct purchase periods, sums per period, then the textbook definitions."""

    def index(ts: datetime) -> int:
        day = (ts.date() - date(1970, 1, 1)).days
        if grain == "h":
            return int((ts - datetime(1970, 1, 1)).total_seconds() // 3600)
        return day if grain == "D" else (day + 3) // 7

    last = index(end) if end is not None else max(index(ts) for _, ts, _ in rows)
    periods: dict = {}
    for user, ts, value in rows:
        i = index(ts)
        if i <= last:
            periods.setdefault(user, {}).setdefault(i, 0.0)
            periods[user][i] += value
    out = []
    for user in sorted(periods):
        ks = sorted(periods[user])
        scale = grain_days / unit_days
        repeat = [periods[user][k] for k in ks[1:]]
        out.append(
            (
                user,
                len(ks) - 1,
                (ks[-1] - ks[0]) * scale,
                (last - ks[0]) * scale,
                sum(repeat) / len(repeat) if repeat else None,
            )
        )
    return out


@pytest.mark.parametrize(
    ("grain", "unit", "end"),
    [
        ("D", None, None),
        ("D", "W", datetime(2024, 3, 15, 12)),
        ("W", None, datetime(2024, 2, 20)),
        ("h", "D", None),
        ("D", "M", datetime(2024, 4, 1)),
    ],
)
def test_rfm_summary_matches_brute_force(grain, unit, end):
    rng = np.random.default_rng(11)
    n = 400
    start = datetime(2024, 1, 1)
    stamps = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 120 * 1440, n)]
    users = rng.integers(0, 40, n).tolist()
    values = np.round(rng.gamma(2.0, 20.0, n), 2).tolist()
    tx = pl.DataFrame({"user_id": users, "timestamp": stamps, "revenue": values})
    got = rfm_summary(tx, observation_end=end, freq=grain, time_unit=unit)
    days = {"h": 1 / 24, "D": 1.0, "W": 7.0, "M": 365.25 / 12}
    brute = _brute_rfm(
        list(zip(users, stamps, values, strict=True)), end, days[grain], days[unit or grain], grain
    )
    assert got.height == len(brute)
    for row, ref in zip(got.rows(), brute, strict=True):
        assert row[:2] == ref[:2]
        assert row[2] == pytest.approx(ref[2], rel=1e-12)
        assert row[3] == pytest.approx(ref[3], rel=1e-12)
        assert (row[4] is None) == (ref[4] is None)
        if ref[4] is not None:
            assert row[4] == pytest.approx(ref[4], rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_rfm_summary_ignores_row_order_and_laziness(seed):
    rng = np.random.default_rng(seed)
    n = 30
    tx = pl.DataFrame(
        {
            "user_id": rng.integers(0, 6, n),
            "timestamp": [
                date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 60, n)
            ],
            "revenue": np.round(rng.gamma(2.0, 9.0, n), 2),
        }
    )
    base = rfm_summary(tx)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=int(seed % 1000))
    assert rfm_summary(shuffled).equals(base)
    assert rfm_summary(tx.lazy()).equals(base)
    assert (base["recency"] <= base["T"]).all()


def test_rfm_summary_reads_iso_strings_and_time_zones():
    tx = pl.DataFrame(
        {
            "uid": ["a", "a", "b"],
            "when": [
                "2024-03-30T23:30:00+00:00",
                "2024-03-31T00:30:00+00:00",
                "2024-03-01T00:00:00+00:00",
            ],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    # as naive UTC strings the two purchases of "a" fall on different days
    plain = rfm_summary(
        tx.with_columns(pl.col("when").str.slice(0, 19)),
        user_col="uid",
        time_col="when",
        value_col="amount",
    )
    assert plain.filter(pl.col("uid") == "a")["frequency"].item() == 1
    # in Sydney (UTC+11) both are on 31 March: one purchase worth 3.0
    local = tx.with_columns(
        pl.col("when").str.to_datetime(time_zone="UTC").dt.convert_time_zone("Australia/Sydney")
    ).filter(pl.col("uid") == "a")
    out = rfm_summary(local, user_col="uid", time_col="when", value_col="amount")
    assert out.rows() == [("a", 0, 0.0, 0.0, None)]


# --------------------------------------------------------------------------------------------
# periods and times, read by the base layer


def _random_log(seed: int = 11, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)
    stamps = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 120 * 1440, n)]
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, 40, n),
            "timestamp": stamps,
            "revenue": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )


@pytest.mark.parametrize(
    ("alias", "period", "unit_alias", "unit_period"),
    [
        ("D", "1d", "W", "1w"),
        ("W", "1w", "D", "1d"),
        ("h", "1h", "M", "1mo"),
        ("D", "1d", "Y", "1y"),
    ],
)
def test_rfm_summary_pandas_aliases_and_project_periods_agree(
    alias, period, unit_alias, unit_period
):
    """The old grain vocabulary ("h", "D", "W"; units "M", "Y") is spelled as periods now."""
    tx = _random_log()
    end = datetime(2024, 3, 15, 12)
    old = rfm_summary(tx, observation_end=end, freq=alias, time_unit=unit_alias)
    new = rfm_summary(tx, observation_end=end, freq=period, time_unit=unit_period)
    assert new.equals(old)
    assert rfm_summary(tx, freq=alias).equals(rfm_summary(tx, freq=period))


def test_rfm_summary_merges_purchases_by_calendar_month():
    """freq "MS" (or "1mo", "M"): one purchase per customer and month, times in months."""
    tx = _random_log(seed=4, n=300)
    got = rfm_summary(tx, freq="MS", observation_end="2024-04-30")
    assert rfm_summary(tx, freq="1mo", observation_end="2024-04-30").equals(got)
    assert rfm_summary(tx, freq="M", observation_end="2024-04-30").equals(got)
    months: dict = {}
    for user, ts, value in tx.iter_rows():
        key = ts.year * 12 + ts.month
        months.setdefault(user, {}).setdefault(key, 0.0)
        months[user][key] += value
    end = 2024 * 12 + 4
    for user, freq, recency, T, monetary in got.rows():
        ks = sorted(months[user])
        repeat = [months[user][k] for k in ks[1:]]
        assert freq == len(ks) - 1
        assert (recency, T) == (float(ks[-1] - ks[0]), float(end - ks[0]))
        if repeat:
            assert monetary == pytest.approx(sum(repeat) / len(repeat), rel=1e-12)
        else:
            assert monetary is None


def test_rfm_summary_reads_every_spelling_of_time_the_base_layer_reads():
    """Dates, ISO text with Z or offsets, YYYYMMDD text and epoch numbers: one summary."""
    days = [date(2024, 1, 1) + timedelta(days=d) for d in (0, 3, 3, 10, 40, 41, 90)]
    tx = pl.DataFrame(
        {"user_id": [1, 1, 2, 1, 2, 3, 3], "timestamp": days, "revenue": [1.0, 2, 3, 4, 5, 6, 7]}
    )
    want = rfm_summary(tx, observation_end="2024-04-30")
    iso = [d.isoformat() for d in days]
    spellings = {
        "iso Z": [f"{d}T12:00:00Z" for d in iso],
        "offset": [f"{d}T08:00:00+02:00" for d in iso],
        "YYYYMMDD": [d.replace("-", "") for d in iso],
        "epoch s": [int(datetime(d.year, d.month, d.day, 6).timestamp()) for d in days],
    }
    for name, values in spellings.items():
        got = rfm_summary(
            tx.with_columns(pl.Series("timestamp", values)),
            observation_end="2024-04-30T00:00:00Z",
        )
        assert got.equals(want), name
    epoch_ms = pl.Series([int(datetime(d.year, d.month, d.day).timestamp() * 1000) for d in days])
    assert rfm_summary(tx.with_columns(timestamp=epoch_ms), observation_end="2024-04-30").equals(
        want
    )


def test_rfm_summary_reads_year_month_text_by_month():
    """``YYYY-MM`` text is the first day of its month (it used to be read as nulls)."""
    tx = pl.DataFrame(
        {"user_id": [1, 1, 1, 2], "timestamp": ["2024-01", "2024-03", "2024-03", "2024-02"]}
    ).with_columns(revenue=pl.lit(10.0))
    out = rfm_summary(tx, freq="MS", observation_end="2024-06")
    assert out.rows() == [(1, 1, 2.0, 5.0, 20.0), (2, 0, 0.0, 4.0, None)]


def test_a_bad_transaction_date_raises_naming_its_row():
    """A date that cannot be read raises, naming its row (never a silent null)."""
    tx = pl.DataFrame(
        {
            "user_id": [1, 2, 3, 4],
            "timestamp": ["2024-01-05", "2024-02-30", "2024-03-01", None],
            "revenue": [1.0, 2.0, 3.0, 4.0],
        }
    )
    match = (
        r"Column 'timestamp' of the transaction log has 1 values that are not dates or "
        r"times \('2024-02-30' at row 1\)"
    )
    with pytest.raises(ValidationError, match=match):
        rfm_summary(tx)
    with pytest.raises(ValidationError, match=match):
        clv_probabilistic(tx)
    with pytest.raises(
        ValidationError,
        match=r"Column 'timestamp' of the transaction log has 1 row with null times "
        r"\(null at row 2 \(user_id 4\)\); times are required",
    ):
        rfm_summary(tx.filter(pl.col("user_id") != 2))


# --------------------------------------------------------------------------------------------
# clv_probabilistic and summaries


def test_clv_probabilistic_on_cdnow_composes_the_models(cdnow_transactions, cdnow_exact):
    """Undiscounted CLV telescopes to E[purchases over the horizon] x E[value]; discounted is
    the month-by-month brute-force sum."""
    kw = {"observation_end": "1997-09-30", "horizon_months": 12}
    flat = clv_probabilistic(cdnow_transactions, discount_rate_annual=0.0, **kw)
    out = clv_probabilistic(cdnow_transactions, discount_rate_annual=0.1, **kw)
    assert out.columns == [
        "user_id",
        "first_purchase",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "p_alive",
        "expected_purchases",
        "expected_value",
        "clv",
    ]
    assert out.select(cdnow_exact.columns).equals(cdnow_exact)
    np.testing.assert_allclose(
        flat["clv"], flat["expected_purchases"] * flat["expected_value"], rtol=1e-10
    )
    bg = BGNBD().fit(cdnow_exact["frequency"], cdnow_exact["recency"], cdnow_exact["T"])
    gg = GammaGamma().fit(cdnow_exact["frequency"], cdnow_exact["monetary_value"])
    assert out["p_alive"].to_numpy() == pytest.approx(
        bg.p_alive(cdnow_exact["frequency"], cdnow_exact["recency"], cdnow_exact["T"])
    )
    month = 365.25 / 12 / 7
    monthly = 1.1 ** (1 / 12) - 1
    i = 5  # customer 6: 7 repeat purchases
    f, rec, age = cdnow_exact.row(i)[1:4]
    value = float(gg.expected_value(f, cdnow_exact["monetary_value"][i]))
    brute = 0.0
    for k in range(1, 13):
        step = bg.expected_purchases(k * month, f, rec, age) - bg.expected_purchases(
            (k - 1) * month, f, rec, age
        )
        brute += value * float(step) / (1 + monthly) ** k
    assert out["clv"][i] == pytest.approx(brute, rel=1e-10)
    assert out["clv"][i] < flat["clv"][i]


def test_clv_by_channel_is_the_sum_of_its_customers(cdnow_transactions):
    rng = np.random.default_rng(5)
    ids = np.arange(1, 2358)
    channel = rng.choice(["email", "search", "social"], ids.size)
    acquisition = pl.DataFrame({"user_id": ids[:-7], "channel": channel[:-7]})
    per = clv_probabilistic(
        cdnow_transactions, observation_end="1997-09-30", acquisition=acquisition
    )
    assert per["channel"].null_count() == 7
    table = summarise_clv(per)
    assert table["channel"].to_list() == ["email", "search", "social", None]
    clv = per["clv"].to_numpy()
    for row in table.iter_rows(named=True):
        unlisted = np.isin(ids, ids[-7:])
        mask = (channel == row["channel"]) & ~unlisted if row["channel"] else unlisted
        assert row["customers"] == mask.sum()
        assert row["clv_total"] == pytest.approx(clv[mask].sum(), rel=1e-12)
        assert row["clv_mean"] == pytest.approx(clv[mask].mean(), rel=1e-12)


def test_clv_probabilistic_uses_models_given_to_it(cdnow_transactions, bg_cdnow, gg_cdnow):
    out = clv_probabilistic(
        cdnow_transactions,
        observation_end="1997-09-30",
        purchase_model=bg_cdnow,
        value_model=gg_cdnow,
    )
    x, m = out["frequency"], out["monetary_value"]
    np.testing.assert_allclose(out["expected_value"], gg_cdnow.expected_value(x, m), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# errors


def test_rfm_summary_errors_name_column_rule_rows_and_count():
    good = {"user_id": [1, 2, 3], "timestamp": ["2024-01-01"] * 3, "revenue": [1.0, 2.0, 3.0]}
    with pytest.raises(SchemaError, match=r"Column 'revenue' is missing from the transaction log"):
        rfm_summary(pl.DataFrame(good).drop("revenue"))
    with pytest.raises(
        SchemaError,
        match=r"Column 'revenue' of the transaction log has type "
        r"String; expected numbers",
    ):
        rfm_summary(pl.DataFrame({**good, "revenue": ["a", "b", "c"]}))
    with pytest.raises(
        SchemaError, match=r"Column 'timestamp' .* has type Boolean; expected datetimes, dates"
    ):
        rfm_summary(pl.DataFrame({**good, "timestamp": [True, False, True]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'user_id' of the transaction log has 1 row "
        r"with null ids \(null at row 1 \(user_id null\)\)",
    ):
        rfm_summary(pl.DataFrame({**good, "user_id": [1, None, 3]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'timestamp' of the transaction log has 2 "
        r"values that are not dates or times \('soon' at row 0, 'x' at row 2\); expected ISO",
    ):
        rfm_summary(pl.DataFrame({**good, "timestamp": ["soon", "2024-01-01", "x"]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'revenue' .* has 1 row with negative "
        r"values \(-2 at row 1 \(user_id 2\)\); values must be >= 0",
    ):
        rfm_summary(pl.DataFrame({**good, "revenue": [1.0, -2.0, 3.0]}))
    with pytest.raises(EmptyInputError, match="The transaction log has no rows"):
        rfm_summary(pl.DataFrame(good).head(0))
    with pytest.raises(
        EmptyInputError,
        match="No purchase of the transaction log is on or before observation_end '2023-12-31'",
    ):
        rfm_summary(pl.DataFrame(good), observation_end="2023-12-31")
    with pytest.raises(ValidationError, match=r"observation_end must be a date.*got 'later'"):
        rfm_summary(pl.DataFrame(good), observation_end="later")
    with pytest.raises(ValidationError, match=r"freq 'fortnight' is not a period; expected"):
        rfm_summary(pl.DataFrame(good), freq="fortnight")
    with pytest.raises(ValidationError, match=r"time_unit 'x' is not a period; expected"):
        rfm_summary(pl.DataFrame(good), time_unit="x")


def test_clv_probabilistic_errors(cdnow_transactions):
    with pytest.raises(ValidationError, match="horizon_months must be a whole number >= 1; got 0"):
        clv_probabilistic(cdnow_transactions, horizon_months=0)
    with pytest.raises(ValidationError, match=r"discount_rate_annual must be >= 0; got -0.1"):
        clv_probabilistic(cdnow_transactions, discount_rate_annual=-0.1)
    twice = pl.DataFrame({"user_id": [1, 1, 2], "channel": ["a", "b", "a"]})
    with pytest.raises(
        ValidationError,
        match=r"Column 'channel' of the acquisition table gives 1 "
        r"customers more than one channel \(user_id 1\)",
    ):
        clv_probabilistic(cdnow_transactions, acquisition=twice)
    with pytest.raises(
        SchemaError,
        match=r"Column 'user_id' of the acquisition table has type "
        r"String but the transaction log's has type Int64",
    ):
        clv_probabilistic(
            cdnow_transactions, acquisition=pl.DataFrame({"user_id": ["1"], "channel": ["a"]})
        )


@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        ([10.0, None, 30.0], ValidationError, r"1 null, NaN or infinite values \(null at row 1"),
        ([10.0, float("nan"), 30.0], ValidationError, r"\(nan at row 1\)"),
        (["10", "5", "30"], SchemaError, "has type String; expected numbers"),
    ],
)
def test_summarise_clv_refuses_missing_values(values, error, match):
    """A null CLV was counted as a customer but not summed: channel a showed 2 customers with
    a mean of 10 (10 / 1) beside a total of 10; a text column was a polars error."""
    f = pl.DataFrame({"channel": ["a", "a", "b"], "clv": values})
    with pytest.raises(error, match=match):
        summarise_clv(f)
