"""The GBVIMS core type is exactly one per incident, by the standard's order of precedence."""

import pytest

from himaya.cases.classification import (
    GbvimsType,
    IncidentAct,
    ViolenceForm,
    classify,
    gbvims_core_type,
)


@pytest.mark.parametrize(
    ("acts", "expected"),
    [
        ({IncidentAct.PSYCHOLOGICAL, IncidentAct.RAPE}, GbvimsType.RAPE),
        ({IncidentAct.PHYSICAL_ASSAULT, IncidentAct.SEXUAL_ASSAULT}, GbvimsType.SEXUAL_ASSAULT),
        ({IncidentAct.DENIAL, IncidentAct.PHYSICAL_ASSAULT}, GbvimsType.PHYSICAL_ASSAULT),
        ({IncidentAct.DENIAL, IncidentAct.FORCED_MARRIAGE}, GbvimsType.FORCED_MARRIAGE),
        ({IncidentAct.PSYCHOLOGICAL, IncidentAct.DENIAL}, GbvimsType.DENIAL),
        ({IncidentAct.PSYCHOLOGICAL}, GbvimsType.PSYCHOLOGICAL),
        (set(), GbvimsType.NON_GBV),
    ],
)
def test_core_type_follows_the_order_of_precedence(acts: set[str], expected: GbvimsType) -> None:
    assert gbvims_core_type(acts) == expected


def test_forms_alone_give_their_least_severe_certain_act() -> None:
    assert classify(forms=[ViolenceForm.ECONOMIC]) == GbvimsType.DENIAL
    assert classify(forms=[ViolenceForm.ECONOMIC, ViolenceForm.PHYSICAL]) == (
        GbvimsType.PHYSICAL_ASSAULT
    )
    assert classify(forms=[ViolenceForm.TECHNOLOGY]) == GbvimsType.PSYCHOLOGICAL


def test_a_recorded_act_outranks_the_forms_default() -> None:
    assert classify(forms=[ViolenceForm.SEXUAL], acts=[IncidentAct.RAPE]) == GbvimsType.RAPE
