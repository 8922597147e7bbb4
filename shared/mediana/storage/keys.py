"""Every storage key in one place (single-table design for the state table).

State table items, all under partitions that start with the tenant (``g``: the
generation of derived items, empty for generation 0, else its number; see
``mediana.storage.generations``):
  T#{t}        STATE           control: seq counter, in-flight ingest blocks, cursor, schedule
  T#{t}        DIR{g}#{part}   directory: tenant record, users, groups
  T#{t}#W{g}   {cid}#{part}    a contact's world
  T#{t}#V{g}   {vid}#{part}    a conversation's route (and messages parked before it arrived)
  T#{t}#I{g}   {iid}#{part}    an interaction's route (its latest version's contact and stamp)
  T#{t}#M{g}   {mid}#{part}    a message's route (its latest version's conversation and stamp)
  T#{t}#D{g}   {sec}#{date}#{part}   one section of one local day
  T#{t}#P{g}   {preset}#{sec}#{part} one section summed over a preset range
  T#{t}#Q      {at}#{source}#{line}  a quarantined line
  T#{t}#R      {refresh_id}    a manual refresh (expires by TTL)
  COST#{month} {tenant}#{day}  the cost ledger: one item per tenant per UTC day, counters
                                (one partition per month: finance reads a month in one Query)
The log table holds source versions under (tenant_id, seq).
"""

from __future__ import annotations

STATE_SK = "STATE"
DUE_PARTITION = "due"  # the sparse index partition holding every tenant with work due


def tenant_pk(tenant: str) -> str:
    return f"T#{tenant}"


def _gen(gen: int) -> str:
    """Generation 0 keeps the keys items had before generations existed."""
    if gen < 0:
        raise ValueError(f"generation {gen} < 0")
    return str(gen) if gen else ""


def worlds_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#W{_gen(gen)}"


def routes_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#V{_gen(gen)}"


def interaction_routes_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#I{_gen(gen)}"


def message_routes_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#M{_gen(gen)}"


def days_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#D{_gen(gen)}"


def presets_pk(tenant: str, gen: int) -> str:
    return f"T#{tenant}#P{_gen(gen)}"


GENERATION_DOCS = ("worlds", "routes", "days", "presets", "int_routes", "msg_routes")  # as journals name them


def generation_pks(tenant: str, gen: int) -> tuple[str, ...]:
    """The partitions that hold one generation's documents (the directory aside), in the
    order of ``GENERATION_DOCS``."""
    return (
        worlds_pk(tenant, gen),
        routes_pk(tenant, gen),
        days_pk(tenant, gen),
        presets_pk(tenant, gen),
        interaction_routes_pk(tenant, gen),
        message_routes_pk(tenant, gen),
    )


def quarantine_pk(tenant: str) -> str:
    return f"T#{tenant}#Q"


def refresh_pk(tenant: str) -> str:
    return f"T#{tenant}#R"


def costs_pk(month: str) -> str:
    return f"COST#{month}"


def costs_sk(tenant: str, day: str) -> str:
    return f"{tenant}#{day}"


def directory_base(gen: int) -> str:
    return f"DIR{_gen(gen)}"


def day_base(section: str, iso_date: str) -> str:
    return f"{section}#{iso_date}"


def preset_base(preset: str, section: str, bucket: int | None = None) -> str:
    """A preset's item, or one of its day buckets (``mediana.domain.presets``)."""
    return f"{preset}#{section}" if bucket is None else f"{preset}#{section}#{bucket:05d}"


def part_sk(base: str, part: int) -> str:
    return f"{base}#{part:03d}"


def base_of(sk: str) -> str:
    return sk[:-4]


def part_of(sk: str) -> int:
    """The part number of a document part's sort key (``part_sk``)."""
    return int(sk[-3:])


def quarantine_sk(received_iso: str, source: str, line: int) -> str:
    return f"{received_iso}#{source}#{line:08d}"


def journal_prefix(tenant: str) -> str:
    return f"journal/{tenant}/"


def journal_key(tenant: str, batch: int, attempt: str) -> str:
    """Unique per attempt: two runners of one batch never share a journal object."""
    return f"{journal_prefix(tenant)}{batch:012d}-{attempt}.json.gz"


def incoming_prefix(tenant: str) -> str:
    return f"incoming/{tenant}/"


def tenant_of_incoming(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "incoming" and parts[1]:
        return parts[1]
    return None
