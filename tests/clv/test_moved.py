"""The old path ``attribution.clv_models`` forwards to ``attribution.clv`` with a warning."""

from __future__ import annotations

import importlib

import pytest

import attribution as at
from attribution import clv

OLD_NAMES = [
    "BGNBD",
    "GammaGamma",
    "clv_probabilistic",
    "customer_lifetime_value",
    "rfm_summary",
    "summarise_clv",
]


@pytest.mark.parametrize("name", OLD_NAMES)
def test_old_import_path_warns_and_gives_the_same_object(name):
    old = importlib.import_module("attribution.clv_models")
    with pytest.warns(DeprecationWarning, match=r"attribution\.clv_models has moved to "):
        value = getattr(old, name)
    assert value is getattr(clv, name)


def test_from_import_of_the_old_path_warns():
    with pytest.warns(DeprecationWarning, match=r"import BGNBD from attribution\.clv"):
        from attribution.clv_models import BGNBD
    assert BGNBD is clv.BGNBD


def test_package_attributes_give_both_paths():
    assert at.clv is clv
    assert not set(OLD_NAMES) & set(dir(at.clv_models))  # dir() lists the stub's own names
    with pytest.raises(AttributeError, match="has no attribute '_bgnbd_loglik'"):
        at.clv_models._bgnbd_loglik  # noqa: B018
