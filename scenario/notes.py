"""Account movements with no document behind them: opening balances and debit and credit notes (dekont).

Dealers who traded before the history began carry an opening balance into its first day.
After that, a distributor posts debit notes for interest on late payment (vade farkı) and
credit notes for the rebates and bonuses it grants (a quarter's volume rebate, a campaign
bonus). Each month draws with its own seeded `random.Random`, so the notes are the same on
every call and do not move when other streams change.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from scenario.documents import Context, Numbers, derive_seed
from scenario.facts import Note, NoteKind, Stamped
from scenario.money import dec2

_OPENING_SHARE = 0.4  # of the dealers active on the first day
_INTEREST_CHANCE = 0.03  # per dealer and month
_REBATE_CHANCE = 0.15  # per dealer and quarter end
_PREFIX: dict[NoteKind, str] = {"opening": "AC", "debit_note": "BD", "credit_note": "AD"}
_TEXT: dict[NoteKind, tuple[str, ...]] = {
    "opening": ("Devir bakiyesi",),
    "debit_note": ("Vade farkı", "Geç ödeme vade farkı"),
    "credit_note": ("Çeyrek ciro primi", "Kampanya bonusu", "Yıl sonu iskontosu"),
}


def notes(ctx: Context) -> Iterator[Stamped[Note]]:
    """Every note of the history, month by month, in time order."""
    numbers = Numbers()
    for m in ctx.calendar:
        rng = random.Random(derive_seed(ctx.seed, 5, m.index))
        planned: list[tuple[str, NoteKind, int]] = []
        for d in ctx.dealers:
            if d.active_from > m.last or (d.active_until is not None and d.active_until < m.first):
                continue
            if m.index == 0 and d.active_from <= m.first and rng.random() < _OPENING_SHARE:
                planned.append((d.code, "opening", rng.randint(1_000, 60_000) * 100 + rng.randint(0, 99)))
            if rng.random() < _INTEREST_CHANCE:
                planned.append((d.code, "debit_note", rng.randint(150, 4_000) * 100 + rng.randint(0, 99)))
            if m.month % 3 == 0 and rng.random() < _REBATE_CHANCE:
                planned.append((d.code, "credit_note", rng.randint(500, 15_000) * 100))
        rng.shuffle(planned)
        first_hour = m.midnights[0] + dt.timedelta(seconds=m.hours[0][0])  # openings: the first day's opening
        timed = [
            (first_hour if kind == "opening" else stamp, account, kind, cents)
            for stamp, (account, kind, cents) in zip(m.stamps(rng, len(planned)), planned, strict=True)
        ]
        timed.sort(key=lambda t: t[0])
        for stamp, account, kind, cents in timed:
            day = stamp.date()
            note = Note(
                number=numbers.next(_PREFIX[kind], day.year),
                account_code=account,
                date=day,
                kind=kind,
                amount=dec2(cents),
                description=rng.choice(_TEXT[kind]),
            )
            created, modified = ctx.stamp(rng, stamp, False)
            yield Stamped(note, created, modified)
