"""Units: what `30s`, `20/s`, `5%` and `4KiB` mean everywhere in loadgen."""

import pytest

from loadgen.core.units import (
    format_duration,
    parse_duration,
    parse_percent,
    parse_rate,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("250us", 0.00025),
        (2, 2.0),
        ("1.5s", 1.5),
        ("0", 0.0),
    ],
    ids=lambda v: str(v),
)
def test_durations_parse_to_seconds(text, seconds):
    """Every unit SPEC names, compounds and bare numbers."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10q", "s", "-1", "1s2", "", "1 h", True])
def test_bad_durations_say_what_a_duration_looks_like(text):
    """Invalid values raise ValueError with the accepted forms."""
    with pytest.raises(ValueError, match="500ms"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("20/s", 20.0),
        ("600/m", 10.0),
        ("5/100ms", 50.0),
        (3, 3.0),
        ("7200/h", 2.0),
        ("12", 12.0),
    ],
)
def test_rates_parse_to_per_second(text, per_second):
    """Rates as SPEC writes them: count/unit, optionally count/Nunit."""
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["fast", "20/q", "/s", "1/0s"])
def test_bad_rates_are_rejected(text):
    """A rate that cannot be read is an error with a hint."""
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_percentages_and_sizes():
    """5% is a fraction; KB is decimal, KiB binary."""
    assert parse_percent("5%") == pytest.approx(0.05)
    assert parse_percent(0.2) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="outside"):
        parse_percent("150%")
    assert parse_size("4KB") == 4000
    assert parse_size("4KiB") == 4096
    assert parse_size("2MB") == 2_000_000


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "250ms"), (12.5, "12.5s"), (200, "3m20s"), (3900, "1h5m"), (60, "1m")],
)
def test_durations_format_for_people(seconds, text):
    """The short form used in summaries and plans."""
    assert format_duration(seconds) == text
