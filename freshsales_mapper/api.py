"""The functions behind ``freshsales_mapper``'s public face (see the package docstring for a tour).

Transforming needs only the pure engine; sending imports the HTTP stack when first called.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from freshsales_mapper.engine.jsvalue import UNDEFINED
from freshsales_mapper.engine.plan import TransformResult
from freshsales_mapper.engine.resolvers import OfflineResolver, RecordingResolver, ReplayResolver, Resolver
from freshsales_mapper.engine.transform import transform_event
from freshsales_mapper.inputs.model import EventInput, is_processor_item

if TYPE_CHECKING:
    from freshsales_mapper.sending.client import FreshsalesClient
    from freshsales_mapper.sending.sender import EventOutcome


def destination(domain: str, api_key: str, event_map: Mapping[str, str | Iterable[str]] | None = None) -> dict:
    """RudderStack's destination settings for Freshsales, as the processor receives them.

    :param domain: the Freshsales host, used as is (``acme.myfreshworks.com``).
    :param api_key: the account's API key.
    :param event_map: ``rudderEventsToFreshsalesEvents``: a track event name to ``"sales_activity"`` or
        ``"lifecycle_stage"`` (or a list of both; one event mapped twice gives two requests).
    """
    config: dict[str, Any] = {"apiKey": api_key, "domain": domain}
    if event_map:
        config["rudderEventsToFreshsalesEvents"] = [
            {"from": name, "to": target}
            for name, targets in event_map.items()
            for target in ([targets] if isinstance(targets, str) else targets)
        ]
    return {"Config": config}


def replay_lookups(recorded: str | os.PathLike | list[dict], network: str | None = None) -> ReplayResolver:
    """Lookups answered from recorded Freshsales replies, as the conformance cases record them.

    :param recorded: a list of ``{"request": {"method", "url"}, "response": {"status", "body"}}``, or the
        path of a JSON file holding one (or holding named lists, then pick one with ``network``).
    :param network: the name of the list to use in a file of named lists (``networks.json``).
    """
    if isinstance(recorded, str | os.PathLike):
        with open(recorded, encoding="utf-8") as handle:
            recorded = json.load(handle)
    if isinstance(recorded, dict):
        if network not in recorded:
            raise ValueError(f"choose one of the named reply sets with network=: {', '.join(sorted(recorded))}")
        recorded = recorded[network]
    return ReplayResolver(recorded)


def record_lookups(lookups: Resolver) -> RecordingResolver:
    """Wraps ``lookups`` so that every answer is kept in ``.recordings``, the list ``--replay`` and
    :func:`replay_lookups` read (write it with ``json.dump``)."""
    return RecordingResolver(lookups)


def live_lookups(client: FreshsalesClient) -> Resolver:
    """Lookups answered by really calling Freshsales (or the emulator) through ``client``.

    They write: RudderStack upserts contacts and accounts while it transforms, and so does this.
    """
    from freshsales_mapper.sending.live_resolver import LiveResolver

    return LiveResolver(client)


def transform(event: Any, destination: dict | None = None, *, lookups: Resolver | None = None,
              trace: bool = True) -> TransformResult:
    """What RudderStack's Freshsales destination does with one event. Never raises for the event's content.

    :param event: a RudderStack message (``{"type": "identify", ...}``), or a processor request item
        ``{"message", "destination", "metadata"}`` that carries its own settings.
    :param destination: settings for a bare message (see :func:`destination`); ignored when the item has its own.
    :param lookups: who answers the calls RudderStack makes while transforming: offline placeholders
        (the default), :func:`replay_lookups` or :func:`live_lookups`.
    :param trace: build the field-by-field trace (``result.fields``); ``False`` is faster, same requests.
    :return: a :class:`~freshsales_mapper.engine.plan.TransformResult`: ``.steps`` (lookups and final
        requests), ``.fields``, ``.unmapped``, ``.notes`` and ``.error`` (RudderStack's error, or None).
    """
    message, settings = _message_and_settings(event, destination)
    return transform_event(message, settings, lookups or OfflineResolver(), trace=trace)


def transform_batch(events: Iterable[Any], destination: dict | None = None, *, lookups: Resolver | None = None,
                    trace: bool = False) -> list[TransformResult]:
    """:func:`transform` for each event, in order; one result per event, failures included."""
    resolver = lookups or OfflineResolver()
    return [transform(event, destination, lookups=resolver, trace=trace) for event in events]


def send(events: Iterable[Any], client: FreshsalesClient, destination: dict | None = None, *,
         journal: str | os.PathLike | None = None) -> list[EventOutcome]:
    """Transform and really send each event through ``client``; one outcome per event, in order.

    :param client: a :class:`~freshsales_mapper.sending.client.FreshsalesClient`; its domain and key are
        used for every event.
    :param journal: a JSON Lines file; sending the same events again with it resends nothing delivered.
    """
    from freshsales_mapper.sending.sender import BatchSender

    items = []
    for index, event in enumerate(events):
        message, settings = _message_and_settings(event, destination)
        metadata = event.get("metadata") if _is_processor_item(event) else None
        items.append(EventInput(message, settings, metadata, f"event [{index}]", index))
    return BatchSender(client, journal_path=journal).send(items)


def _is_processor_item(event: Any) -> bool:
    return isinstance(event, dict) and is_processor_item(event)  # the rule the CLI and the playground use


def _message_and_settings(event: Any, destination: dict | None) -> tuple[Any, Any]:
    if _is_processor_item(event):
        return event.get("message", UNDEFINED), event.get("destination", destination)
    if destination is None:
        raise ValueError("a bare message needs destination settings: pass destination=freshsales_mapper."
                         "destination(domain, api_key), or give {message, destination, metadata} items")
    return event, destination
