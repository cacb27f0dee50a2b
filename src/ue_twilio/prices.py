"""What Twilio charged: per recipient as it reported it, and the run's total.

Twilio reports a Message's ``num_segments``, ``price`` and ``price_unit`` and
a Call's ``price``, ``price_unit`` and ``duration`` on the resource itself;
the price often stays null for a while after the final status. So the
figures are taken as delivery tracking last saw them, never guessed, and
the total counts only what is known: it is a decimal string (summed with
``decimal.Decimal``, never floats, in Twilio's sign: a charge is negative),
null when no price is known or when the prices are in different units.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Iterable, Mapping, NamedTuple, Optional


class Charge(NamedTuple):
    """One resource's figures as Twilio reported them (None: not reported)."""

    num_segments: Optional[int] = None
    price: Optional[str] = None
    price_unit: Optional[str] = None
    duration: Optional[int] = None

    @classmethod
    def of(cls, resource: Optional[Mapping[str, Any]]) -> "Charge":
        """The figures of a Message or Call resource; junk reads as unknown."""
        if not resource:
            return cls()
        price = resource.get("price")
        unit = resource.get("price_unit")
        return cls(
            _count(resource.get("num_segments")),
            price if _decimal(price) is not None else None,
            unit if isinstance(unit, str) and unit else None,
            _count(resource.get("duration")),
        )

    def as_dict(self, is_call: bool) -> Dict[str, Any]:
        """The keys of a recipient entry: calls have no segments, messages no
        duration."""
        if is_call:
            return {
                "price": self.price,
                "price_unit": self.price_unit,
                "duration": self.duration,
            }
        return {
            "num_segments": self.num_segments,
            "price": self.price,
            "price_unit": self.price_unit,
        }


def totals(charges: Iterable[Optional[Charge]], is_call: bool) -> Dict[str, Any]:
    """``result.stats`` keys: the known total, its unit and how many it covers.

    ``msg_priced_count`` says how many recipients had a price, so a total
    that covers only some of them is recognisable; ``msg_segments_count``
    (messages only) sums the known ``num_segments``.
    """
    known = [c for c in charges if c is not None]
    priced = [c for c in known if c.price is not None]
    prices = [c.price for c in known if c.price is not None]
    units = {c.price_unit for c in priced}
    total: Optional[str] = None
    unit: Optional[str] = None
    if priced and len(units) == 1 and None not in units:
        unit = units.pop()
        total = str(sum((Decimal(price) for price in prices), Decimal(0)))
    counts: Dict[str, Any] = {}
    if not is_call:
        segments = [c.num_segments for c in known if c.num_segments is not None]
        counts["msg_segments_count"] = sum(segments) if segments else None
    counts.update(
        {"msg_priced_count": len(priced), "price_total": total, "price_unit": unit}
    )
    return counts


def _decimal(value: Any) -> Optional[Decimal]:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _count(value: Any) -> Optional[int]:
    """Twilio sends counts as strings ("2"); a bool or junk is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)  # ASCII only: "²" and "٣" are digits too
    return None
