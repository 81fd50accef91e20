"""What a batch came to: counts for machines, and sentences for people about whatever went wrong."""

from __future__ import annotations

from collections import Counter
from typing import Any

from freshsales_mapper.sending.outcomes import EventOutcome, SendOutcome

NOT_SENT = "not sent: "


def summarize(outcomes: list[EventOutcome]) -> dict[str, Any]:
    """Counts by status and by reason, HTTP calls made, and a one-line summary (``line``)."""
    by_status = {str(status): 0 for status in SendOutcome}
    by_status.update(Counter(str(o.status) for o in outcomes))
    by_reason = Counter(f"{o.status}: {o.reason}" for o in outcomes)
    summary: dict[str, Any] = {
        "total": len(outcomes),
        "by_status": by_status,
        "by_reason": dict(by_reason.most_common()),
        "retryable": sum(o.retryable for o in outcomes if o.status == SendOutcome.FAILED),
        "refused": sum(o.refused for o in outcomes),
        "rejected": sum(o.rejected for o in outcomes),
        # One definition of each count for every caller, so a page never says "3 events sent, 0 requests":
        # a request is made when it goes out, answered when Freshsales' status came back.
        "events_tried": sum(any(r["outcome"] != "planned" for r in o.requests) for o in outcomes),
        "http_requests": sum(r["outcome"] != "planned" for o in outcomes for r in o.requests),
        "http_answered": sum(r["outcome"] != "planned" and r.get("status") is not None
                             for o in outcomes for r in o.requests),
        "read_back": sum(len(o.readback or ()) for o in outcomes),  # one GET per record read back
    }
    summary["line"] = summary_line(summary)
    return summary


def summary_line(summary: dict[str, Any] | list[EventOutcome]) -> str:
    if isinstance(summary, list):
        summary = summarize(summary)
    counts = summary["by_status"]
    why = [f"{summary[k]} {words}" for k, words in (("refused", "refused by Freshsales"), ("retryable", "retryable"))
           if summary.get(k)]
    failed = f"{counts['failed']} failed" + (f" ({', '.join(why)})" if why else "")
    return (f"{summary['total']} event(s): {counts['delivered']} delivered, {failed}, {counts['unknown']} unknown, "
            f"{counts['skipped']} skipped{_skip_note(summary)}; {summary['http_requests']} HTTP request(s)")


def _skip_note(summary: dict[str, Any]) -> str:
    return rejection_note(summary.get("rejected", 0), summary["by_status"]["skipped"])


def rejection_note(rejected: int, skipped: int) -> str:
    """" (RudderStack rejects them)" after a count of skipped events, or how many of them it rejects."""
    if not rejected:
        return ""
    if rejected == skipped:
        return f" (RudderStack rejects {'it' if rejected == 1 else 'them'})"
    return f" ({rejected} RudderStack rejects)"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def plain_words(outcomes: list[EventOutcome], *, resend_unknown: str = "resend with --resend-unknown",
                rerun: str = "rerun with the same --journal") -> list[str]:
    """Sentences saying what went wrong in a batch, most important first; [] when nothing did.

    ``resend_unknown`` and ``rerun`` say how to act in the caller's own terms (CLI flags or buttons).
    """
    lines: list[str] = []
    unknown = [o for o in outcomes if o.status == SendOutcome.UNKNOWN]
    fresh = [o for o in unknown if o.requests]
    answered = [o for o in fresh if o.http_status is not None]
    if len(fresh) - len(answered):
        lines.append(f"{_plural(len(fresh) - len(answered), 'activity', 'activities')} unknown: the connection broke "
                     f"or no answer came after Freshsales may have created them; check and {resend_unknown}")
    if answered:
        statuses = ", ".join(sorted({f"HTTP {o.http_status}" for o in answered}))
        lines.append(f"{_plural(len(answered), 'activity', 'activities')} unknown: Freshsales answered with a server "
                     f"error ({statuses}) after it may have created them; check and {resend_unknown}")
    if len(unknown) - len(fresh):
        lines.append(f"{_plural(len(unknown) - len(fresh), 'event', 'events')} still unknown from an earlier run, "
                     f"not resent; check and {resend_unknown}")
    stopped = Counter(o.reason[len(NOT_SENT):] for o in outcomes
                      if o.status == SendOutcome.FAILED and not o.requests and o.reason.startswith(NOT_SENT))
    for reason, count in stopped.items():
        lines.append(f"{_plural(count, 'event', 'events')} not sent: {reason}")
    failed = [o for o in outcomes if o.status == SendOutcome.FAILED and not o.reason.startswith(NOT_SENT)]
    if failed:
        retryable = sum(o.retryable for o in failed)
        advice = f"; {retryable} of them may succeed if you {rerun}" if retryable else ""
        lines.append(f"{_plural(len(failed), 'event', 'events')} failed (see each reason){advice}")
    lost = Counter(loss.text for o in outcomes if o.status == SendOutcome.DELIVERED for loss in o.losses)
    if lost:  # delivered, yet not as given: the outcome line of each such event names its losses
        lossy = sum(1 for o in outcomes if o.status == SendOutcome.DELIVERED and o.losses)
        lines.append(f"{_plural(lossy, 'event', 'events')} delivered with losses: "
                     + ", ".join(f"{text} ({count})" for text, count in lost.most_common()))
    return lines
