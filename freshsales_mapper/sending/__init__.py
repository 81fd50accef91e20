"""Sending for real: the Freshsales HTTP client (safe hosts, retries that never duplicate writes), live
lookups, and the batch sender with its resumable journal.

Owns all outgoing HTTP. May import the engine (to transform before sending), inputs (the event type),
the rate limiter, requests and urllib3; never the emulator, the CLI or the playground.
"""

from freshsales_mapper.rate_limit import RateLimiter
from freshsales_mapper.sending.client import FreshsalesClient
from freshsales_mapper.sending.domain import DomainError, normalize_domain
from freshsales_mapper.sending.journal import JournalBusy, JournalError, JournalWriteError
from freshsales_mapper.sending.live_resolver import LiveResolver
from freshsales_mapper.sending.outcomes import SendOutcome
from freshsales_mapper.sending.replies import ClientReply, parse_error_body
from freshsales_mapper.sending.run_store import RunRecord, RunStore, RunStoreError
from freshsales_mapper.sending.sender import BatchSender, EventOutcome, client_factory
from freshsales_mapper.sending.summary import plain_words, summarize, summary_line

__all__ = ["BatchSender", "ClientReply", "DomainError", "EventOutcome", "FreshsalesClient", "JournalBusy",
           "JournalError", "JournalWriteError", "LiveResolver", "RateLimiter", "RunRecord", "RunStore",
           "RunStoreError", "SendOutcome", "client_factory", "normalize_domain", "parse_error_body", "plain_words",
           "summarize", "summary_line"]
