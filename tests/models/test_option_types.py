"""Numeric model options given as text are refused with the package's error, naming them.

Before, ``half_life_days="7"`` and the like reached a comparison deep in a kernel and raised
Python's ``TypeError: '>' not supported between instances of 'str' and 'int'``, and
position-based weights given as text were read silently.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

import attribution as at
from attribution.models.base import positive_number, positive_numbers
from tests.conftest import random_events

# (model, option, value given as text): every numeric option of the nine models
TEXT_OPTIONS = [
    ("time_decay", "half_life_days", "7"),
    ("time_decay", "half_life_steps", "1"),
    ("position_based", "weights", ("0.4", "0.2", "0.4")),
    ("position_based", "weights", [0.4, "0.2", 0.4]),
    ("markov", "order", "2"),
    ("markov", "max_dense_states", "100"),
    ("shapley", "max_channels", "10"),
    ("data_driven", "folds", "5"),
    ("data_driven", "half_life_days", "7"),
    ("data_driven", "hazard_half_lives", ["3", "7"]),
    ("data_driven", "alphas", (0.01, "0.1")),
    ("data_driven", "cv_rows", "100"),
    ("data_driven", "max_shapley_channels", "5"),
    ("data_driven", "instability", "0.2"),
    ("data_driven", "lift_prior", "1"),
]


@pytest.fixture(scope="module")
def journeys() -> at.Journeys:
    import numpy as np

    events = random_events(np.random.default_rng(7), 400, n_users=40)
    return at.build_journeys(events)


@pytest.mark.parametrize(("model", "option", "value"), TEXT_OPTIONS)
def test_text_for_a_numeric_option_names_the_option_and_value(journeys, model, option, value):
    with pytest.raises(at.ModelError) as err:
        at.attribute(journeys, model, **{option: value})
    message = str(err.value)
    assert option in message
    assert repr(value) in message or any(repr(v) in message for v in value if isinstance(v, str))
    assert re.search(r"number|numbers", message)
    assert "not text" in message or "which is text" in message


@pytest.mark.parametrize(("model", "option", "value"), TEXT_OPTIONS)
def test_attribute_all_refuses_text_options_the_same_way(journeys, model, option, value):
    with pytest.raises(at.ModelError, match=re.escape(option)):
        at.attribute_all(journeys, models=[model], **{option: value})


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "linear", "last_non_direct"])
def test_models_without_numeric_options_name_the_option_given(journeys, model):
    # these four take no numeric option: a text one is refused by name, not read
    with pytest.raises(at.ModelError, match="takes no parameter 'half_life_days'"):
        at.attribute(journeys, model, half_life_days="7")


def test_attribute_all_over_every_model_names_the_text_option(journeys):
    with pytest.raises(at.ModelError, match=r"half_life_days must be > 0.*got '7', which is text"):
        at.attribute_all(journeys, half_life_days="7")


@pytest.mark.parametrize("value", ["7", True, None, float("nan"), float("inf"), 0, -1.5])
def test_positive_number_refuses_what_is_not_a_positive_number(value):
    with pytest.raises(at.ModelError, match=rf"^speed must be > 0.*got {re.escape(repr(value))}"):
        positive_number(value, "speed")


def test_positive_numbers_names_the_bad_item():
    assert positive_numbers([1, 2.5], "speeds") == [1.0, 2.5]
    with pytest.raises(at.ModelError, match=r"speeds .*item 1 of \[1, '2'\] is '2'"):
        positive_numbers([1, "2"], "speeds")
    for value in ("12", 3, []):
        with pytest.raises(at.ModelError, match="speeds must be"):
            positive_numbers(value, "speeds")


def test_spark_path_refuses_a_text_half_life_before_reading_the_frame():
    from attribution.spark import attribute_spark

    frame = pl.DataFrame({"user_id": [1]})
    with pytest.raises(at.ModelError, match=r"half_life_days must be > 0.*got '7', which is text"):
        attribute_spark(frame, "time_decay", half_life_days="7")
