"""The pure engine: a RudderStack event and destination settings in, a plan of Freshsales requests out,
with a field-by-field trace of why each value was chosen, dropped or changed.

Owns JavaScript value semantics, the mapping tables, value resolution, event types, RudderStack's
errors, plans, resolvers that answer lookups without I/O (offline placeholders, recorded replies) and
output views. Imports only the standard library: no network, threads, processes, UI or pandas.
Lookups that need the network are answered by a resolver passed in (see ``sending.LiveResolver``).
``UPSTREAM_COMMIT`` is the rudder-transformer commit the tables and the semantics follow.
"""

from freshsales_mapper.engine.tables import UPSTREAM_COMMIT

__all__ = ["UPSTREAM_COMMIT"]
