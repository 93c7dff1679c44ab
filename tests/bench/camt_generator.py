"""Generate a balancing camt.053.001.02 statement with N entries (for benchmarks)."""
# ruff: noqa: E501  (XML templates: one entry per line)

import random
from datetime import date, timedelta
from decimal import Decimal

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt>
<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>
<Stmt>
<Id>{stmt_id}</Id>
<CreDtTm>{day}T18:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{opening}</Amt><CdtDbtInd>{opening_sign}</CdtDbtInd><Dt><Dt>{start}</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{closing}</Amt><CdtDbtInd>{closing_sign}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
"""
ENTRY = """<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{servicer}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E-{ref}</EndToEndId></Refs><RltdPties><Dbtr><Nm>Customer {party}</Nm></Dbtr><DbtrAcct><Id><IBAN>{party_iban}</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Invoice {ref} payment</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
"""
FOOTER = "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"


def _balance(value):
    return f"{abs(value):.2f}", "CRDT" if value >= 0 else "DBIT"


def generate_camt053(
    entries,
    iban="DE89370400440532013000",
    seed=42,
    opening=Decimal("1000.00"),
    start=date(2023, 3, 1),
    stmt_id="BENCH-STMT-1",
    currency="EUR",
):
    """Return (bytes, opening, closing) of a statement whose balances add up."""
    rng = random.Random(seed)
    body = []
    total = Decimal(0)
    for index in range(entries):
        amount = Decimal(rng.randint(100, 500000)) / 100
        credit = rng.random() < 0.6
        total += amount if credit else -amount
        day = start + timedelta(days=index * 28 // max(entries, 1))
        body.append(
            ENTRY.format(
                ref=f"{index:08d}",
                amount=f"{amount:.2f}",
                sign="CRDT" if credit else "DBIT",
                day=day.isoformat(),
                servicer=f"SVC{seed}-{index:08d}",
                party=index % 997,
                party_iban=f"NL{(index % 89) + 10:02d}BANK{index % 9999999999:010d}",
                ccy=currency,
            )
        )
    closing = opening + total
    opening_text, opening_sign = _balance(opening)
    closing_text, closing_sign = _balance(closing)
    last = start + timedelta(days=28)
    head = HEADER.format(
        msg_id=f"MSG-{stmt_id}",
        day=last.isoformat(),
        stmt_id=stmt_id,
        iban=iban,
        opening=opening_text,
        opening_sign=opening_sign,
        closing=closing_text,
        closing_sign=closing_sign,
        start=start.isoformat(),
        ccy=currency,
    )
    return (head + "".join(body) + FOOTER).encode("utf-8"), opening, closing
