"""Attribution of a funnel stage to channels: which channels produce MQLs, SQLs, customers.

Each contact's conversion is the moment it first passes the stage, by the rules of
:mod:`attribution.kpis.funnel`; its touches up to then form its journey, which the public
:func:`attribution.attribute` credits with any model. Journeys are built with
:func:`attribution.build_journeys` and take the same :class:`~attribution.JourneyOptions`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from attribution._api import attribute
from attribution._base.errors import EmptyInputError, SchemaError
from attribution._base.frames import FrameLike, to_lazy
from attribution.crm import CRM_LOG
from attribution.io import read_events
from attribution.journeys import JourneyOptions, build_journeys, split_journey_params
from attribution.kpis._lifecycle import RANK, load_lifecycle, pass_and_reach, stage_rank
from attribution.models import Attribution

__all__ = ["attribute_stage"]


def attribute_stage(
    events: FrameLike,
    crm: FrameLike,
    *,
    stage: str = "mql",
    model: str = "linear",
    options: JourneyOptions | None = None,
    **params: Any,
) -> Attribution:
    """Attribute a funnel stage (which channels produce MQLs, SQLs, customers...) to channels.

    Each contact's conversion is the moment it first passes ``stage`` (entering it, or
    skipping over it from an earlier stage, at the later stage's time). Contacts created
    directly beyond ``stage`` never passed it: they are neither conversions nor
    non-conversions, and their touches are left out. Touches of a converting contact after its
    conversion are left out too (they cannot have produced it; a touch at the very conversion
    time counts toward it). Touches of contacts that never reached the stage (including users
    absent from the CRM log) form non-converting journeys, which Markov and Shapley use.
    Journeys are built with :func:`attribution.build_journeys` and credited by
    :func:`attribution.attribute`.

    Parameters
    ----------
    events
        Touches: output of :func:`attribution.read_events` or any frame it accepts (read with
        the column options); only touch rows are used (without an event column every row is
        a touch).
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    stage : str
        The stage to attribute.
    model : str
        Model name, see :data:`attribution.MODELS`.
    options : JourneyOptions, optional
        How touches become journeys (lookback, max touches, collapsing, non-converting) and
        where the event log's columns are; see :class:`~attribution.JourneyOptions`.
    **params
        Any field of :class:`~attribution.JourneyOptions` (``lookback_days=30``,
        ``user_col="uid"``...), replacing the one in ``options``, and the model's own
        parameters.

    Returns
    -------
    Attribution
        Its revenue is the ``amount`` of the customer row that made the contact a customer
        when ``stage="customer"`` (0 when that row has none, e.g. a jump to evangelist), and 0
        for other stages.

    Raises
    ------
    SchemaError
        User ids have different types in the two logs.
    EmptyInputError
        No contact passed ``stage``.

    Examples
    --------
    >>> import polars as pl
    >>> touches = pl.DataFrame({"user_id": [1, 1, 2], "channel": ["seo", "email", "ads"],
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-02"]})
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["lead", "mql", "lead"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-02"]})
    >>> res = attribute_stage(touches, crm, model="last_touch")
    >>> res.channels["channel", "conversions"].rows()
    [('ads', 0.0), ('seo', 1.0)]
    """
    journey_params, model_params = split_journey_params(params)
    opts = JourneyOptions.of(options, **journey_params)
    s = stage_rank(stage)
    df = load_lifecycle(crm)
    reach = pass_and_reach(df, s, None)
    if reach.height == 0:
        raise EmptyInputError(
            f"No contact in the {CRM_LOG} passed the stage {stage!r}; there is nothing to "
            "attribute."
        )
    passed = reach["user_id"]
    beyond = (
        df.filter(pl.col("rank") >= s)
        .select("user_id")
        .unique()
        .filter(~pl.col("user_id").is_in(passed.implode()))
    )
    touches = _touches(events, opts)
    if touches["user_id"].dtype != df["user_id"].dtype:
        raise SchemaError(
            f"User ids are {touches['user_id'].dtype} in the event log but "
            f"{df['user_id'].dtype} in the {CRM_LOG}; they must have the same type to be "
            "matched."
        )
    if stage == "customer":
        amounts = (
            df.filter(pl.col("rank") == RANK["customer"])
            .select(
                "user_id",
                pl.col("timestamp").alias("start_time"),
                pl.col("amount").alias("revenue"),
            )
            .unique(["user_id", "start_time"], keep="first", maintain_order=True)
        )
        conv = reach.join(amounts, on=["user_id", "start_time"], how="left")
        revenue = pl.col("revenue").fill_null(0.0)
    else:
        conv, revenue = reach, pl.lit(0.0)
    conversions = conv.select(
        "user_id",
        pl.col("start_time").alias("timestamp"),
        pl.lit(None, pl.String).alias("channel"),
        pl.lit("conversion").alias("event"),
        revenue.cast(pl.Float64).alias("revenue"),
    )
    kept = (
        touches.join(beyond, on="user_id", how="anti")
        .join(reach.select("user_id", "start_time"), on="user_id", how="left")
        .filter(pl.col("start_time").is_null() | (pl.col("timestamp") <= pl.col("start_time")))
        .select(
            "user_id",
            "timestamp",
            "channel",
            pl.lit("touch").alias("event"),
            pl.lit(0.0).alias("revenue"),
        )
    )
    # the stage's journeys are in the contract's columns: only the journey rules apply now
    journeys = build_journeys(pl.concat([kept, conversions]), **opts.journey_args())
    return attribute(journeys, model=model, **model_params)


def _touches(events: FrameLike, opts: JourneyOptions) -> pl.DataFrame:
    """Read the touch rows of the event log: ``user_id, timestamp, channel``."""
    lf = to_lazy(events, what="event log")
    event_col = opts.event_col
    if (
        event_col is not None
        and opts.conversion_flag_col is None
        and event_col not in lf.collect_schema().names()
    ):
        touch = opts.touch_events
        lf = lf.with_columns(pl.lit(touch if isinstance(touch, str) else touch[0]).alias(event_col))
    return (
        read_events(lf, **opts.column_params())
        .filter(pl.col("event") == "touch")
        .select("user_id", "timestamp", "channel")
        .collect()
    )
