"""An event added to a day (vpp.cases.events): the command line's text and the service's object."""

from __future__ import annotations

import pytest

from vpp.cases.events import EventSpec, as_event, clock, parse_event, parse_time, parse_window


def test_the_command_line_form() -> None:
    assert parse_event("peak_shaving,20:00-22:00,8") == EventSpec("peak_shaving", 20.0, 22.0, 8.0)
    ev = parse_event(" valley_filling , 11:30-24:00 , 6.5 , 200 ")
    assert ev == EventSpec("valley_filling", 11.5, 24.0, 6.5, 200.0)
    assert ev.window == "11:30-24:00"
    assert ev.as_dict() == {"kind": "valley_filling", "window": "11:30-24:00", "amount_mw": 6.5, "price_cny_per_mwh": 200.0}


def test_the_service_form_gives_the_same_event() -> None:
    text = parse_event("peak_shaving,18:00-20:00,8,1500")
    assert as_event({"kind": "peak_shaving", "window": "18:00-20:00", "amount_mw": 8, "price_cny_per_mwh": 1500}) == text
    assert as_event(text) is text


def test_times() -> None:
    assert parse_time("07:45") == pytest.approx(7.75)
    assert parse_time("24:00") == 24.0
    assert clock(7.75) == "07:45" and clock(24.0) == "24:00"
    assert parse_window("00:00-00:15") == (0.0, 0.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("peak_shaving,20:00-22:00", "expected KIND,HH:MM-HH:MM,MW[,CNY_PER_MWH], e.g. peak_shaving,20:00-22:00,10; got 'peak_shaving,20:00-22:00'"),
        ("shave,20:00-22:00,8", "kind: expected one of peak_shaving, valley_filling, got 'shave'"),
        ("peak_shaving,20-22,8", "expected a time as HH:MM, got '20'"),
        ("peak_shaving,20:00,8", "expected a window as HH:MM-HH:MM, got '20:00'"),
        ("peak_shaving,22:00-20:00,8", "the window 22:00-20:00 ends before it starts: expected HH:MM-HH:MM within one day"),
        ("peak_shaving,20:00-24:30,8", "24:30 is not a time of the day (00:00 to 24:00)"),
        ("peak_shaving,20:00-22:00,ten", "amount: expected a number, got 'ten'"),
        ("peak_shaving,20:00-22:00,0", "amount: expected a number of MW > 0, got '0'"),
        ("peak_shaving,20:00-22:00,nan", "amount: expected a finite number, got 'nan'"),
        ("peak_shaving,20:00-22:00,8,-1", "price: expected CNY/MWh >= 0, got '-1'"),
    ],
)
def test_bad_events_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_event(text)
    assert str(err.value) == message


def test_anything_else_is_refused() -> None:
    with pytest.raises(ValueError, match="expected KIND,HH:MM-HH:MM,MW\\[,CNY_PER_MWH\\] or an object"):
        as_event(8)  # type: ignore[arg-type]
