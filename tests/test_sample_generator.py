"""The sample generator: reproducible, in the promised mix, realistic, and true to its labels."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from freshsales_mapper.inputs import parse_events_text, validate_destination, validate_event
from freshsales_mapper.sample_generator import (
    LIFECYCLE_STAGES,
    MISTAKES,
    SALES_ACTIVITY_TYPES,
    generate_events,
    generate_labelled_events,
    main,
    processor_items,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_events"
NETWORKS = ROOT / "tests" / "conformance" / "networks.json"  # recorded replies, copied from ../shared

# The mix the generator promises (percent of events per kind).
PROMISED_MIX = {"identify": 45, "group": 20, "sales_activity": 15, "lifecycle_stage": 10, "mistake": 10}


def email_anywhere(event: dict) -> bool:
    """Whether any place RudderStack looks for the user's email holds one."""
    context = event.get("context", {})
    external = context.get("externalId")
    return bool(event.get("traits", {}).get("email") or context.get("traits", {}).get("email")
                or event.get("properties", {}).get("email")
                or (isinstance(external, list) and external and external[0].get("id")))


def test_same_seed_same_events_and_other_seed_other_events():
    assert generate_events(50, seed=4) == generate_events(50, seed=4)
    assert generate_events(50, seed=4) != generate_events(50, seed=5)
    assert generate_events(30) == generate_events(30, seed=0)


def test_does_not_touch_global_random_state():
    import random

    random.seed(1)
    expected = random.random()
    random.seed(1)
    generate_events(20, seed=9)
    assert random.random() == expected


@pytest.mark.parametrize("count", [0, 1, 7, 99, 200])
def test_gives_exactly_the_number_asked_for(count):
    assert len(generate_events(count, seed=count)) == count


def test_negative_count_is_refused():
    with pytest.raises(ValueError, match="count"):
        generate_events(-1)


@pytest.mark.parametrize("count", [100, 200, 1000])
def test_mix_matches_the_promise_exactly_when_it_divides(count):
    kinds = Counter(label.split(":")[0] for label, _ in generate_labelled_events(count, seed=1))
    assert kinds == {kind: count * share // 100 for kind, share in PROMISED_MIX.items()}


@pytest.mark.parametrize("count", [3, 17, 58])
def test_mix_rounds_within_one_event_otherwise(count):
    kinds = Counter(label.split(":")[0] for label, _ in generate_labelled_events(count, seed=2))
    assert sum(kinds.values()) == count
    for kind, share in PROMISED_MIX.items():
        assert abs(kinds[kind] - count * share / 100) < 1


def test_variants_are_all_present_and_roughly_balanced():
    labels = Counter(label for label, _ in generate_labelled_events(4000, seed=3))
    for kind in ("group", "sales_activity", "lifecycle_stage"):
        pair = [labels[k] for k in labels if k.startswith(kind + ":")]
        assert len(pair) == 2 and min(pair) > 0.35 * sum(pair), (kind, pair)
    assert {label.split(":")[1] for label in labels if label.startswith("mistake:")} == set(MISTAKES)


def test_every_event_is_what_its_label_says():
    for label, event in generate_labelled_events(600, seed=6):
        kind, _, variant = label.partition(":")
        properties = event.get("properties", {})
        if kind == "identify":
            assert event["type"] == "identify" and "@" in event["traits"]["email"]
        elif kind == "group":
            assert event["type"] == "group" and event["traits"]["name"]
            assert email_anywhere(event) == (variant == "with_email")
        elif kind == "sales_activity":
            assert (event["type"], event["event"]) == ("track", "sales_activity")
            if variant == "by_name":
                assert properties["salesActivityName"] in SALES_ACTIVITY_TYPES
            else:
                assert int(properties["salesActivityTypeId"]) in SALES_ACTIVITY_TYPES.values()
        elif kind == "lifecycle_stage":
            assert (event["type"], event["event"]) == ("track", "lifecycle_stage") and email_anywhere(event)
            if variant == "by_name":
                assert properties["lifecycleStageName"] in LIFECYCLE_STAGES
            else:
                assert int(properties["lifecycleStageId"]) in LIFECYCLE_STAGES.values()
        else:
            assert_mistake(variant, event)


def assert_mistake(variant: str, event: dict) -> None:
    traits = event.get("traits", {})
    if variant == "missing_email":
        assert not email_anywhere(event)
    elif variant == "email_only_in_properties":
        assert "email" not in traits and "@" in event["properties"]["email"]
    elif variant == "numeric_string_ids":
        ids = [v for k, v in traits.items() if k.endswith("Id")]
        assert any(v.isdigit() for v in ids) and any(not v.isdigit() for v in ids)
    elif variant == "string_address":
        assert isinstance(traits["address"], str)
    elif variant == "custom_traits":
        assert any(key.startswith("cf_") for key in traits)
    elif variant in ("page", "screen"):
        assert event["type"] == variant
    else:
        assert event["type"] == "track" and event["event"] not in ("sales_activity", "lifecycle_stage")


def test_events_look_real():
    events = generate_events(300, seed=8)
    assert len({e["messageId"] for e in events}) == len(events)
    for event in events:
        assert validate_event(event) == []
        uuid.UUID(event["messageId"])
        uuid.UUID(event["anonymousId"])
        assert event["context"]["library"]["name"]
        for key in ("originalTimestamp", "sentAt", "timestamp"):
            assert datetime.fromisoformat(event[key]).tzinfo is not None
        assert event["originalTimestamp"] <= event["sentAt"] <= event["timestamp"]
        email = event.get("traits", {}).get("email") or event.get("context", {}).get("traits", {}).get("email")
        if email:
            assert email.isascii() and email.endswith(".example.com") and email.count("@") == 1


def test_timestamps_move_forward():
    stamps = [e["originalTimestamp"] for e in generate_events(100, seed=10)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_names_and_ids_exist_in_the_acme_account():
    replies = {entry["request"]["url"].rsplit("/", 1)[-1]: entry["response"]["body"]
               for entry in json.loads(NETWORKS.read_text("utf-8"))["acme"]}
    activity_types = {t["name"]: t["id"] for t in replies["sales_activity_types"]["sales_activity_types"]}
    stages = {s["name"]: s["id"] for s in replies["lifecycle_stages"]["lifecycle_stages"]}
    assert SALES_ACTIVITY_TYPES.items() <= activity_types.items()
    assert LIFECYCLE_STAGES.items() <= stages.items()


def test_labelled_kinds_transform_as_intended_against_acme():
    from freshsales_mapper.engine.resolvers import ReplayResolver
    from freshsales_mapper.engine.transform import transform_event

    resolver = ReplayResolver(json.loads(NETWORKS.read_text("utf-8"))["acme"])
    failing = {"mistake:missing_email", "mistake:page", "mistake:screen", "mistake:unsupported_event"}
    for label, event in generate_labelled_events(300, seed=12):
        [item] = processor_items([event])
        result = transform_event(item["message"], item["destination"], resolver, trace=False)
        assert result.ok == (label not in failing), (label, result.error)


def test_processor_items_wrap_each_event():
    events = generate_events(5, seed=13)
    items = processor_items(events)
    assert [i["message"] for i in items] == events
    for item, event in zip(items, events, strict=True):
        assert item["destination"] == {"Config": {"apiKey": "demo-key", "domain": "acme.myfreshworks.com"}}
        assert item["metadata"] == {"messageId": event["messageId"]}
        assert validate_destination(item["destination"]) == []
    parsed = parse_events_text(json.dumps(items))
    assert [i.destination for i in parsed.items] == [i["destination"] for i in items]


def test_processor_items_with_mappings_do_not_share_them():
    mappings = [{"from": "Demo Booked", "to": "sales_activity"}]
    items = processor_items(generate_events(2, seed=14), domain="newco.myfreshworks.com", api_key="k",
                            mappings=mappings)
    items[0]["destination"]["Config"]["rudderEventsToFreshsalesEvents"][0]["to"] = "lifecycle_stage"
    assert mappings == [{"from": "Demo Booked", "to": "sales_activity"}]
    assert items[1]["destination"]["Config"] == {"apiKey": "k", "domain": "newco.myfreshworks.com",
                                                 "rudderEventsToFreshsalesEvents": mappings}


def test_command_line_prints_ndjson_or_a_processor_body(capsys):
    assert main(["--count", "4", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == generate_events(4, seed=3)
    assert main(["--count", "2", "--seed", "3", "--processor"]) == 0
    assert json.loads(capsys.readouterr().out) == processor_items(generate_events(2, seed=3))


def test_batch_sample_files_are_the_generator_output_documented_in_the_readme():
    readme = (SAMPLES / "README.md").read_text("utf-8")
    assert "--count 240 --seed 7 > sample_events/batch_mixed.ndjson" in readme
    assert "--count 10 --seed 11 --processor > sample_events/batch_processor_request.json" in readme
    ndjson = (SAMPLES / "batch_mixed.ndjson").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in ndjson] == generate_events(240, seed=7)
    body = json.loads((SAMPLES / "batch_processor_request.json").read_text("utf-8"))
    assert body == processor_items(generate_events(10, seed=11))
