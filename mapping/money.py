"""Decimal normalisers for amounts, quantities, prices and rates, and ISO 4217 currency codes.

Every result is quantized to a fixed number of places so that the same value read from
SQLite (NUMERIC as 10 places), PostgreSQL (the stored scale) or MSSQL (float columns)
encodes, compares and hashes the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from mapping._iso4217 import CODES, MINOR_UNITS, NUMERIC
from mapping.errors import RecordError
from mapping.schema import Totals

# Quantize exponents built once: quantize() is called once per numeric field.
QUANTS: tuple[Decimal, ...] = tuple(Decimal(1).scaleb(-p) for p in range(19))
Q_AMOUNT = QUANTS[2]
Q_QUANTITY = QUANTS[3]
Q_UNIT_PRICE = QUANTS[4]
Q_RATE = QUANTS[6]
Q_PERCENT = QUANTS[2]

# Own context: independent of whatever the thread's context was set to, and wide enough
# that 20-digit ERP amounts with 10 places still fit; only overflow beyond that traps.
_CTX = Context(prec=40, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_ZERO = Decimal(0)


def _reject(reason: str, field: str, value: object) -> RecordError:
    # Numbers are not personal data; a short repr makes dead letters debuggable.
    shown = repr(value)
    return RecordError(f"{reason}: {shown[:40]}", field)


def _grouped(int_part: str, sep: str) -> bool:
    """Whether `sep` is used as a thousands separator in `int_part` ("1.234.567")."""
    head, *groups = int_part.split(sep)
    return 1 <= len(head.lstrip("+-")) <= 3 and all(len(g) == 3 for g in groups)


def _normalise_separators(s: str) -> str | None:
    """Map "1.234,56", "1,234.56", "1234,56" and "1,234,567" to "1234.56"-style; None if ambiguous."""
    comma = s.rfind(",")
    dot = s.rfind(".")
    if dot > comma:  # "1,234.56": commas group
        return s.replace(",", "") if _grouped(s[:dot], ",") else None
    if dot >= 0:  # "1.234,56": dots group, the single comma is the decimal point
        if s.count(",") != 1 or not _grouped(s[:comma], "."):
            return None
        return s.replace(".", "").replace(",", ".")
    if s.count(",") == 1:  # "1234,56": Turkish/Russian decimal comma
        return s.replace(",", ".")
    return s.replace(",", "") if _grouped(s, ",") else None


_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")


def _parse_str(text: str, field: str) -> Decimal | None:
    s = text.strip()
    if not s:
        return None
    if "," in s:
        norm = _normalise_separators(s)
        if norm is None:
            raise _reject("ambiguous number", field, text)
        s = norm
    try:
        return Decimal(s)
    except InvalidOperation:
        pass
    # Slow path, rare: "1 234,56" (Russian grouping) or "1.234.567" (dot grouping, no decimals).
    t = s.translate(_GROUP_SPACES)
    if t.count(".") > 1 and _grouped(t, "."):
        t = t.replace(".", "")
    try:
        return Decimal(t)
    except InvalidOperation:
        raise _reject("not a number", field, text) from None


def _quant(places: int) -> Decimal:
    return QUANTS[places] if 0 <= places < len(QUANTS) else Decimal(1).scaleb(-places)


def to_decimal(value: object, places: int, field: str) -> Decimal | None:
    """`value` as a Decimal with exactly `places` decimals (ROUND_HALF_UP); None for None/empty."""
    d: Decimal | None
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        d = _parse_str(value, field)
    elif isinstance(value, float):
        # repr is the shortest round-tripping text: 0.1 -> "0.1", not 0.1000000000000000055...
        # float() only for subclasses: numpy 2 reprs np.float64 as "np.float64(0.1)".
        d = Decimal(repr(value) if type(value) is float else repr(float(value)))
    elif isinstance(value, bool):
        raise _reject("boolean is not a number", field, value)
    elif isinstance(value, int):
        d = Decimal(value)
    elif value is None:
        return None
    else:
        raise _reject("not a number", field, value)
    if d is None:
        return None
    if not d.is_finite():
        raise _reject("not a finite number", field, value)
    try:
        # Positional: in 3.11 the keyword form parses arguments ~3x slower than the quantize itself.
        q = d.quantize(_quant(places), ROUND_HALF_UP, _CTX)
    except InvalidOperation:
        raise _reject("number out of range", field, value) from None
    # -0.00 equals 0.00 but encodes as "-0.00"; keep one spelling for hashing.
    return q.copy_abs() if q.is_zero() and q.is_signed() else q


def minor_units(currency: str | None) -> int:
    """Decimals of the currency's minor unit (2 when unknown or None: the common case)."""
    if currency is None:
        return 2
    return MINOR_UNITS.get(currency, 2)


def amount(value: object, field: str, currency: str | None = None) -> Decimal | None:
    """A money amount quantized to the currency's minor units (2 places when no currency is given)."""
    return to_decimal(value, MINOR_UNITS.get(currency, 2) if currency else 2, field)


def quantity(value: object, field: str) -> Decimal | None:
    return to_decimal(value, 3, field)


def unit_price(value: object, field: str) -> Decimal | None:
    return to_decimal(value, 4, field)


def percent(value: object, field: str) -> Decimal | None:
    return to_decimal(value, 2, field)


def rate(value: object, field: str) -> Decimal | None:
    """An exchange rate: 6 places and strictly positive (a zero rate would zero every local amount)."""
    d = to_decimal(value, 6, field)
    if d is not None and d <= _ZERO:
        raise _reject("exchange rate must be > 0", field, value)
    return d


_ALIASES: dict[str, str] = {
    "TL": "TRY",
    "YTL": "TRY",
    "TRL": "TRY",
    "₺": "TRY",
    "RUR": "RUB",
    "РУБ": "RUB",
    "РУБ.": "RUB",
    "Р.": "RUB",
    "₽": "RUB",
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "EURO": "EUR",
    "£": "GBP",
}


def _lookup(value: object) -> str | None:
    if type(value) is str:
        s = value.strip().upper()
        if s in CODES:
            return s
        hit = _ALIASES.get(s)
        if hit is not None:
            return hit
        if s.isdigit() and s.isascii():
            return NUMERIC.get(int(s))
        return None
    if type(value) is int:
        return NUMERIC.get(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return NUMERIC.get(int(value))  # numeric code from a NUMERIC(3,0) column
    return None


def currency(value: object, field: str, aliases: Mapping[object, str] | None = None) -> str | None:
    """The ISO 4217 alphabetic code for a code, alias, symbol or numeric code; None for None/empty.

    `aliases` is the ERP's own code table (Logo: {0: "TRY", 1: "USD", 20: "EUR", ...}); it wins over
    the ISO numeric codes, since ERP ids overlap them (Logo's 1 is USD, not ISO 001).
    """
    if value is None:
        return None
    if aliases:
        hit = aliases.get(value)
        if hit is None and type(value) is str:
            key = value.strip()
            hit = aliases.get(key)
            if hit is None and key.isdigit():
                hit = aliases.get(int(key))
        if hit is not None:
            value = hit
    if type(value) is str and not value.strip():
        return None
    code = _lookup(value)
    if code is None:
        raise RecordError(f"unknown currency {str(value)[:20]!r}", field)
    return code


_SCALE = tuple(10**p for p in range(7))
_QUANT = tuple(Decimal(1).scaleb(-p) for p in range(7))
# float -> Decimal per number of places. Quantities, prices, rates and many amounts repeat across
# lines, and a dict hit costs a tenth of a conversion. Decimals are immutable, so sharing is safe.
_MEMO: tuple[dict[float, Decimal], ...] = tuple({} for _ in range(7))
# Cleared when full. Measured on invoice amounts: 32,768 entries hit ~64 % (200,000 hit 76 % but held ~40 MB per
# number of places, most of a sync's memory); a miss costs ~0.4 us more than a hit.
_MEMO_MAX = 32_768


def fixed(value: Any, places: int, field: str, *, null_is_zero: bool = False) -> Decimal:
    """`value` (an ERP's FLOAT column) at `places` decimals. Same result as to_decimal.

    NULL is a RecordError "missing" (an amount the ERP does not hold is not 0), unless the caller says
    `null_is_zero` where NULL means zero by construction: a SUM over no rows, an outer join that found
    nothing, an optional column this release lacks. NaN, infinity and overflow are RecordErrors too.

    Fast path: a float that holds a value with at most `places` decimals (every amount an ERP stores
    rounded) becomes a Decimal from its integer count of units, which is exact and ~5x cheaper than
    parsing repr(). Anything else (more decimals: half-up rounding matters) takes to_decimal.
    """
    if type(value) is float:
        memo = _MEMO[places]
        hit = memo.get(value)
        if hit is not None:
            return hit
        scaled = value * _SCALE[places]
        # NaN fails both bounds below and infinity the second: both go on to to_decimal, which rejects them.
        if -(2.0**52) < scaled < 2.0**52:
            units = round(scaled)
            if -1e-7 < scaled - units < 1e-7:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                hit = memo[value] = Decimal(units) * _QUANT[places]  # int * 10**-places: exact, exponent -places
                return hit
    elif value is None:
        if not null_is_zero:
            raise RecordError("missing (NULL where an amount is required)", field)
        value = 0
    return to_decimal(value, places, field)  # type: ignore[return-value]


def fixed_at(places: int) -> Callable[[Any, str], Decimal]:
    """`fixed` at `places` decimals as a one-call function for hot loops (a document's amounts cost two or three
    Python calls each before): a float seen before is one dict look-up, a float with at most `places` decimals is
    converted here, anything else goes through `fixed` unchanged."""
    if not 0 <= places < len(_MEMO):
        return lambda value, field: fixed(value, places, field)
    memo, scale, quant = _MEMO[places], _SCALE[places], _QUANT[places]

    def at(value: Any, field: str) -> Decimal:
        if type(value) is float:
            hit = memo.get(value)
            if hit is not None:
                return hit
            scaled = value * scale
            if -(2.0**52) < scaled < 2.0**52:  # as in fixed: NaN and infinity go on to be refused there
                units = round(scaled)
                if -1e-7 < scaled - units < 1e-7:
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    hit = memo[value] = Decimal(units) * quant
                    return hit
        return fixed(value, places, field)

    return at


FIXED: tuple[Callable[[Any, str], Decimal], ...] = tuple(fixed_at(p) for p in range(len(_MEMO)))


def divided(value: Any, by: Decimal, places: int, field: str) -> Decimal:
    """`value` (a FLOAT column) divided by `by`, at `places` decimals (ROUND_HALF_UP): the float's shortest text
    taken exactly, as to_decimal takes it; NULL is a RecordError "missing"."""
    if value is None:
        raise RecordError("missing (NULL where an amount is required)", field)
    if type(value) is not float:
        value = float(value)
    # NaN and infinity survive the division and are refused by to_decimal.
    return to_decimal(Decimal(repr(value)) / by, places, field)  # type: ignore[return-value]


def to_local_totals(totals: Totals, rate_: Decimal, local_currency: str) -> Totals:
    """Document totals in local currency, converted at document level so they hold together:
    net, discount and vat are each converted and rounded once; gross = net + discount and
    total = net + vat are derived, never rounded on their own (which can leave them a cent apart)."""
    places = _quant(MINOR_UNITS.get(local_currency, 2))
    net = (totals.net * rate_).quantize(places, ROUND_HALF_UP, _CTX)
    discount = (totals.discount * rate_).quantize(places, ROUND_HALF_UP, _CTX)
    vat = (totals.vat * rate_).quantize(places, ROUND_HALF_UP, _CTX)
    return Totals(gross=net + discount, discount=discount, net=net, vat=vat, total=net + vat)


def apportion(target: Decimal, weights: Sequence[Decimal], places: int = 2) -> list[Decimal]:
    """`target` split over `weights` in proportion, at `places` decimals, summing to `target` exactly.

    The largest-remainder method: each share is its exact proportion rounded toward zero, and the
    units left over go one each to the shares whose exact proportion lost the most. No share is more
    than one unit from its exact proportion. Local amounts of document lines are spread this way from
    the document's local net, so the lines add up to the header to the cent.
    """
    if not weights:
        return []
    quant = _quant(places)
    whole = sum(weights, _ZERO)
    if whole.is_zero():
        # Nothing to be proportional to (lines that cancel out): the first line carries it all.
        return [target.quantize(quant, ROUND_HALF_UP, _CTX), *(_ZERO.quantize(quant) for _ in weights[1:])]
    unit = Decimal(1).scaleb(-places)
    exact = [target * w / whole for w in weights]
    shares = [e.quantize(quant, ROUND_DOWN, _CTX) for e in exact]
    left = int(((target - sum(shares, _ZERO)) / unit).to_integral_value())
    if left:
        step = unit if left > 0 else -unit
        # The shares whose rounding gave up the most (toward the sign of what is left) take a unit each.
        order = sorted(range(len(shares)), key=lambda i: (exact[i] - shares[i]) * step, reverse=True)
        for i in order[: abs(left)]:
            shares[i] += step
    return [s.copy_abs() if s.is_zero() else s for s in shares]
