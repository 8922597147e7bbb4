"""What a batch reads before it folds, and how its journal names what it writes.

The loads go in rounds, each needing the one before: the routes of the delta's
interactions and messages (one BatchGetItem for both), then the conversations' routes
(a message's route names the conversation it lies in), then the worlds those routes
point to. Each returns what is stored (documents and their part counts): the journal
writes new content over exactly those parts.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from mediana.domain.contrib import empty_world
from mediana.domain.needed import interaction_ids, message_ids, route_ids, touched_contacts
from mediana.domain.world import LoadedState, empty_directory, upgrade_directory, upgrade_stored
from mediana.storage import keys
from mediana.storage.store import Store


def stored_directory(store: Store, tenant: str, gen: int) -> tuple[dict[str, Any] | None, int]:
    """A generation's directory (upgraded) and its stored part count (0: none)."""
    base = keys.directory_base(gen)
    found = store.get_docs(keys.tenant_pk(tenant), [base]).get(base)
    return (upgrade_directory(found[0]), found[1]) if found else (None, 0)


Stored = dict[str, tuple[Any, int]]  # base -> (document, its part count)


def load_batch(
    store: Store, tenant: str, gen: int, delta: Sequence[dict[str, Any]], directory: dict[str, Any] | None
) -> tuple[LoadedState, dict[str, Stored]]:
    """The worlds and routes ``delta`` touches (and a private copy of the directory), and
    what is stored of each (the journal's part counts), by ``keys.GENERATION_DOCS`` name."""
    ipk, mpk = keys.interaction_routes_pk(tenant, gen), keys.message_routes_pk(tenant, gen)
    own = store.get_docs_of({ipk: interaction_ids(delta), mpk: message_ids(delta)})  # one round for both
    int_routes, msg_routes = _docs(own[ipk]), _docs(own[mpk])
    routes = store.get_docs(keys.routes_pk(tenant, gen), route_ids(delta, msg_routes))
    touched = touched_contacts(delta, _docs(routes), int_routes, msg_routes)
    worlds = store.get_docs(keys.worlds_pk(tenant, gen), touched)
    loaded = LoadedState(
        worlds={c: (worlds[c][0] if c in worlds else empty_world()) for c in touched},
        routes=_docs(routes),
        int_routes=int_routes,
        msg_routes=msg_routes,
        directory=copy.deepcopy(directory) if directory else empty_directory(),
    )
    stored = {"worlds": worlds, "routes": routes, "int_routes": own[ipk], "msg_routes": own[mpk]}
    return upgrade_stored(loaded), stored


def _docs(stored: Stored) -> dict[str, Any]:
    return {base: doc for base, (doc, _) in stored.items()}


def journal_entry(docs: dict[str, Any], stored: Stored, changed: set[str]) -> dict[str, list[Any]]:
    """The journal's entry for documents: [new content, parts stored before] per base."""
    return {base: [docs[base], stored.get(base, (None, 0))[1]] for base in changed}
