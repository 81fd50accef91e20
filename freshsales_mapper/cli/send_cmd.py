"""``python -m freshsales_mapper send``: transform and really send events, one JSON outcome per line."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from typing import Any

from freshsales_mapper.cli import common as cli
from freshsales_mapper.cli.send_display import SendDisplay
from freshsales_mapper.engine.route import holds_template
from freshsales_mapper.inputs import EventInput
from freshsales_mapper.sending import DomainError, FreshsalesClient
from freshsales_mapper.sending.journal import JournalError, JournalWriteError
from freshsales_mapper.sending.outcomes import SendOutcome
from freshsales_mapper.sending.readback import RecordReadback, read_back
from freshsales_mapper.sending.resume import destination_config
from freshsales_mapper.sending.sender import (
    BatchSender,
    EventOutcome,
    client_factory,
    destination_settings,
    routed_destination,
)
from freshsales_mapper.sending.summary import plain_words, summarize, summary_line

EXIT_STDOUT_CLOSED = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Transform events and send them to Freshsales for real: lookups first, then the final requests, in "
        "order. Piped (or with --json), prints one JSON outcome per event on stdout as soon as it is known; on a "
        "terminal, a progress line and then a table of outcomes grouped by status. A summary goes to stderr. "
        "Processor request bodies carry their own domain and key; --domain and --api-key apply to bare "
        "messages. Exit 0: every event delivered or skipped; 1: some failed or have an unknown outcome; "
        "2: unusable input or settings, a journal in use by another run or that cannot be written; "
        "3: stdout was closed before the run ended (e.g. `| head`): sending stopped, the journal is complete.")
    cli.add_input_arguments(parser)
    parser.add_argument("--base-url", metavar="URL",
                        help="send every request to this loopback URL instead (the local emulator), "
                             "e.g. http://127.0.0.1:8765")
    parser.add_argument("--journal", metavar="FILE",
                        help="append each event's outcome to FILE (JSONL), locked while the run lasts; re-running "
                             "with the same FILE resumes, without resending what was delivered or whose outcome is "
                             "unknown; a torn last line (from a crash) is repaired with a warning. The journal "
                             "names the account it belongs to: a file that is not a journal, the input itself, or a "
                             "journal of another account is refused (exit 2) and left untouched")
    parser.add_argument("--resend-unknown", action="store_true",
                        help="with --journal: send again the events whose outcome is unknown (a sales activity "
                             "that may or may not exist); check Freshsales first, or they may be duplicated")
    output_choice = parser.add_mutually_exclusive_group()
    output_choice.add_argument("--json", dest="json_lines", action="store_true", default=None,
                       help="one JSON outcome per line on stdout (the default when stdout is not a terminal)")
    output_choice.add_argument("--table", dest="json_lines", action="store_false", default=None,
                       help="a progress line, then a table of outcomes grouped by status (the default on a terminal)")
    parser.add_argument("--readback", action="store_true",
                        help="after each delivered event, read back the records it touched (one GET each, counted "
                             "in the rate budget) and add to its outcome a 'readback' list: per record its kind, id, "
                             "the record as stored, and for every field sent whether Freshsales stored it as sent")
    parser.add_argument("--dry-run", action="store_true",
                        help="transform offline and list the requests that would be sent; sends nothing")
    parser.add_argument("--rate-limit-per-minute", type=int, default=400, metavar="N",
                        help="client-side budget per minute (default 400; 0 turns it off)")
    parser.add_argument("--rate-limit-per-hour", type=int, default=1000, metavar="N",
                        help="client-side budget per hour (default 1000; 0 turns it off)")
    parser.add_argument("--read-timeout", type=float, default=10.0, metavar="S",
                        help="seconds to wait for each answer (default 10)")
    parser.add_argument("--connect-timeout", type=float, default=3.05, metavar="S",
                        help="seconds to wait for a connection (default 3.05)")
    parser.add_argument("--request-deadline", type=float, default=30.0, metavar="S",
                        help="seconds one request may take in all, retries, waits and slow answers included "
                             "(default 30)")
    parser.add_argument("--max-retries", type=int, default=3, metavar="N",
                        help="retries on 429 and connection failures, and for reads and upserts also on 500 and 502-504, "
                             "timeouts and connections broken mid-answer (default 3); a sales activity is never "
                             "sent twice")
    parser.add_argument("--max-retry-wait", type=float, default=30.0, metavar="S",
                        help="the longest Retry-After to wait for (default 30); if Freshsales asks for longer, "
                             "that event and the rest of the batch fail at once with the time to rerun")


def run(args: argparse.Namespace) -> int:
    for name in ("rate_limit_per_minute", "rate_limit_per_hour", "max_retries"):
        if getattr(args, name) < 0:
            raise cli.InputProblem(f"--{name.replace('_', '-')} must be 0 or more")
    for name in ("read_timeout", "connect_timeout", "request_deadline"):
        if not getattr(args, name) > 0:
            raise cli.InputProblem(f"--{name.replace('_', '-')} must be more than 0 seconds")
    if not args.max_retry_wait >= 0:
        raise cli.InputProblem("--max-retry-wait must be 0 or more seconds")
    if args.resend_unknown and not args.journal:
        raise cli.InputProblem("--resend-unknown needs --journal: only a journal knows which events are unknown")
    if args.base_url:
        try:
            FreshsalesClient("acme", "placeholder", base_url=args.base_url).close()
        except DomainError as exc:
            raise cli.InputProblem(f"--base-url: {exc}") from None
    if args.journal:
        _refuse_journal_that_is_the_input(args.journal, args.input)
    entries = cli.read_entries(args)
    items = [entry for entry in entries if isinstance(entry, EventInput)]
    unread = [EventOutcome.unreadable(entry) for entry in entries if not isinstance(entry, EventInput)]
    options = {"base_url": args.base_url, "read_timeout": args.read_timeout, "max_retries": args.max_retries,
               "connect_timeout": args.connect_timeout, "request_deadline": args.request_deadline,
               "max_retry_wait": args.max_retry_wait,
               "rate_limit_per_minute": args.rate_limit_per_minute or None,
               "rate_limit_per_hour": args.rate_limit_per_hour or None,
               "on_progress": lambda message: display.message(message)}
    json_lines = args.json_lines if args.json_lines is not None else not sys.stdout.isatty()
    display = SendDisplay(sys.stdout, sys.stderr, json_lines=json_lines, progress=sys.stderr.isatty())
    if not args.dry_run:
        _check_destinations(items, options)

    shown: list[EventOutcome] = []

    readers: dict[tuple[str, str], FreshsalesClient] = {}

    def show(done: int, total: int, outcome: EventOutcome) -> None:
        if args.readback and not args.dry_run and outcome.status == SendOutcome.DELIVERED and outcome.index is not None:
            outcome.readback = [record.to_json() for record in _read_back(items[outcome.index], outcome, readers,
                                                                              options)]
        shown.append(outcome)
        display.outcome(len(shown), len(entries), outcome)

    sender = BatchSender(client_factory(**options), journal_path=args.journal, on_progress=show,
                         dry_run=args.dry_run, resend_unknown=args.resend_unknown,
                         on_warning=lambda message: display.message(f"warning: {message}"))
    resume = "; rerun with the same --journal to continue" if args.journal else ""
    for outcome in unread:  # answered first: nothing is sent for them, and the user sees them at once
        show(0, len(entries), outcome)
    try:
        outcomes = sender.send(items)
    except JournalWriteError as exc:
        display.finish(shown)
        print(f"send: {exc} (after {len(shown)} of {len(items)} event(s); the journal holds every event "
              "finished before)", file=sys.stderr)
        print(f"send: {summary_line(shown)}", file=sys.stderr)
        return cli.EXIT_BAD_INPUT
    except JournalError as exc:
        raise cli.InputProblem(str(exc)) from None
    except BrokenPipeError:
        # Nobody reads the outcomes any more (`send ... | head -1`): sending on would act unseen.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail again
        os.close(devnull)
        print(f"send: stdout was closed after {len(shown)} of {len(items)} event(s); stopped sending{resume}",
              file=sys.stderr)
        return EXIT_STDOUT_CLOSED
    except KeyboardInterrupt:
        display.finish(shown)
        print(f"send: interrupted after {len(shown)} of {len(items)} event(s){resume}", file=sys.stderr)
        print(f"send: {summary_line(shown)}", file=sys.stderr)
        return 130
    for reader in readers.values():
        reader.close()
    outcomes = unread + outcomes
    display.finish(outcomes)
    summary = summarize(outcomes)
    for reason, count in summary["by_reason"].items() if json_lines else ():  # else the table said it
        if not reason.startswith("delivered"):
            print(f"send: {count} × {reason}", file=sys.stderr)
    for line in plain_words(outcomes, rerun="rerun with the same --journal" if args.journal else "run it again"):
        print(f"send: {line}", file=sys.stderr)
    print(f"send: {summary['line']}" + (" (dry run: nothing sent)" if args.dry_run else ""), file=sys.stderr)
    return cli.EXIT_FAILED if any(o.status.needs_action for o in outcomes) else cli.EXIT_OK


def _check_destinations(items: list[EventInput], options: dict[str, Any]) -> None:
    """Refuse the whole batch (exit 2) before sending anything if the settings given here cannot be used.

    Only --domain and --api-key as written: they apply to every bare message, so a mistake there is a
    usage error. A processor item's own destination, and settings filled from each event by a template,
    are the event's own: a bad one fails that event alone, with its reason, and the others are sent.
    """
    checked: set[tuple[str, str]] = set()
    for item in items:
        if item.processor or holds_template(destination_config(item.destination)):
            continue
        try:
            domain, api_key = destination_settings(routed_destination(item))
            slot = (domain, hashlib.sha256(api_key.encode()).hexdigest())
            if slot not in checked:
                checked.add(slot)
                FreshsalesClient(domain, api_key, base_url=options["base_url"]).close()
        except ValueError as exc:
            raise cli.InputProblem(f"{item.location}: {exc}") from None


def _refuse_journal_that_is_the_input(journal: str, source: str) -> None:
    """Appending outcomes to the events being sent would corrupt them (and the journal refuses them anyway)."""
    try:
        journal_stat = os.stat(journal)
        input_stat = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, ValueError):
        return  # a journal not yet made, or an input the reader reports on
    if (journal_stat.st_dev, journal_stat.st_ino) == (input_stat.st_dev, input_stat.st_ino):
        raise cli.InputProblem(f"--journal {journal} is the input itself; give the journal a file of its own")


def _read_back(item: EventInput, outcome: EventOutcome, readers: dict[tuple[str, str], FreshsalesClient],
               options: dict[str, Any]) -> list[RecordReadback]:
    """The records a delivered event touched, read with a client of its own account (one per account)."""
    domain, api_key = destination_settings(routed_destination(item))
    slot = (domain, hashlib.sha256(api_key.encode()).hexdigest())
    if slot not in readers:
        readers[slot] = client_factory(**options)(domain, api_key)
    return read_back(readers[slot], outcome)
