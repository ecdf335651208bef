import pytest

from fastmlp.schedules import (
    Constant,
    Function,
    InverseScaling,
    LowerAtEnd,
    Piecewise,
    StepDecay,
    as_schedule,
)


def test_schedules():
    assert [Constant(0.1)(e, 5) for e in range(3)] == [0.1] * 3
    assert [StepDecay(1.0, 0.5, every=2)(e) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert InverseScaling(1.0, power=1)(3) == 0.25
    assert [LowerAtEnd(1.0, 0.1, last=2)(e, 4) for e in range(4)] == [1, 1, 0.1, 0.1]
    assert [Piecewise({0: 0.1, 10: 0.01})(e) for e in (0, 9, 10, 30)] == [0.1, 0.1, 0.01, 0.01]


def test_as_schedule_by_name_callable_and_instance():
    assert as_schedule(None, 0.3)(7, 10) == 0.3
    assert as_schedule("invscaling", 1.0)(3, 10) == 0.5
    assert as_schedule(lambda epoch: epoch + 1.0, 0.1)(2, 10) == 3.0
    schedule = StepDecay(0.1)
    assert as_schedule(schedule, 99) is schedule
    assert "StepDecay(lr=0.1" in repr(schedule)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Constant(0), "lr: expected a finite value > 0"),
        (lambda: StepDecay(0.1, every=0), "every: expected a finite value > 0"),
        (lambda: Piecewise({1: 0.1}), "rates: expected a dict of epoch -> lr starting at epoch 0"),
        (lambda: as_schedule("nope", 0.1), "lr_schedule: expected one of"),
    ],
)
def test_bad_schedules_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def rate(epoch):
    return 0.1


def test_a_callable_is_named_without_its_address():
    schedule = as_schedule(rate, 0.5)
    assert isinstance(schedule, Function) and schedule(3, 10) == 0.1
    assert repr(schedule) == f"Function({__name__}.rate)"
    assert repr(as_schedule(lambda epoch: 0.1, 0.5)).startswith("Function(test_schedules.")
    assert "0x" not in repr(as_schedule(lambda epoch: 0.1, 0.5))
