"""The statements a draining backlog sends once per job, written in SQL.

Every job of a busy account runs these in every worker. Built by the ORM, each one
cost more CPU to compile than the database spent running it: 20 ms of engine work per
job on the 2-core machine, most of it in query compilation, against 50 ms at the
carrier (``bench/sync_drain.py``). Here the SQL text is built once per process, and the
claim of the next due job is a single ``UPDATE … RETURNING`` instead of a SELECT and an
UPDATE. The SQL is what SQLite (3.35 or newer, for RETURNING) and PostgreSQL both
accept; table and column names come from the models. Everything that is not on that
path stays in the ORM (``engine.py``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from django.db import connection

from portal.carriers.models import CarrierAccount

from .models import CarrierThrottle, ErrorKind, JobState, RateLimitEvent, SyncJob, SyncState

JOBS = SyncJob._meta.db_table
ACCOUNTS = CarrierAccount._meta.db_table
THROTTLES = CarrierThrottle._meta.db_table
EVENTS = RateLimitEvent._meta.db_table

# The columns of a claimed job that running it needs (the rest is never read there).
CLAIMED_COLUMNS = ("id", "reseller_id", "carrier_account_id", "object_kind", "object_id", "object_repr",
                   "operation", "payload", "attempts", "caused_by_id", "parent_kind", "parent_id",
                   "attempt_log")  # fmt: skip


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _when(value: datetime):
    """A datetime as the backend stores it (SQLite: naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def as_datetime(value) -> datetime | None:
    """A datetime column read with plain SQL, aware in UTC on either backend."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=dt_timezone.utc)
    return value


def _one(sql: str, params) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def relax_commit() -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk.

    For the engine's own bookkeeping (claims, outcomes): a database crash can lose the
    last fraction of a second of them, which only makes a job run again, and jobs are
    idempotent. It saves a wait for the disk on every job. The changes people make are
    committed as before. (SQLite in WAL mode with synchronous=NORMAL commits so already.)
    """
    if _postgres():
        _execute("SET LOCAL synchronous_commit TO OFF", [])


# --------------------------------------------------------------------- claims
@lru_cache(maxsize=4)
def _lock_sql(postgres: bool, relax: bool) -> str:
    # SQLite's write lock, taken when the transaction began (IMMEDIATE), already
    # serialises the account's claims; PostgreSQL needs the row lock. ``NO KEY``: new
    # jobs and rate-limit events of the account may still be inserted meanwhile.
    if not postgres:
        return f"SELECT max_in_flight, updated_at FROM {ACCOUNTS} WHERE id = %s"
    relaxed = ", set_config('synchronous_commit', 'off', true)" if relax else ""
    return f"SELECT max_in_flight, updated_at{relaxed} FROM {ACCOUNTS} WHERE id = %s FOR NO KEY UPDATE"


def lock_account(account_id: int, *, relax: bool) -> tuple[int, object] | None:
    """Lock the account's claims until the transaction ends: (its in-flight cap, its version).

    ``relax``: and relax the transaction's commit as :func:`relax_commit` does, in the
    same round trip.
    """
    row = _one(_lock_sql(_postgres(), relax), [account_id])
    return row[:2] if row else None


# No job of the same carrier record, nor of the same name at the carrier, is running
# (issue #10, D3, and a name deleted by one object and taken by another). Only the
# account's running jobs are looked at: its cap keeps them few, and the account index
# finds them.
_NOT_RUNNING_ELSEWHERE = (
    f"NOT EXISTS (SELECT 1 FROM {JOBS} r WHERE r.carrier_account_id = j.carrier_account_id"
    f" AND r.state = '{JobState.RUNNING}'"
    f" AND (r.record = j.record OR (j.natural_key <> '' AND r.natural_key = j.natural_key)))"
)
_UNDER_CAP = f"(SELECT COUNT(*) FROM {JOBS} c WHERE c.carrier_account_id = %s AND c.state = '{JobState.RUNNING}') < %s"
PICKED_COLUMNS = "j.id, j.object_kind, j.object_id, j.operation"


# The account's job due longest whose record is free; params: account, now. The
# (carrier_account, state, next_attempt_at) index yields the account's due jobs in order:
# the first match ends the search however long the queue is.
_NEXT_DUE = (
    f"SELECT {PICKED_COLUMNS} FROM {JOBS} j WHERE j.carrier_account_id = %s AND j.state = '{JobState.QUEUED}'"
    f" AND j.next_attempt_at <= %s AND {_NOT_RUNNING_ELSEWHERE} ORDER BY j.next_attempt_at LIMIT 1"
)
_THIS_ONE = (
    f"SELECT {PICKED_COLUMNS} FROM {JOBS} j WHERE j.id = %s AND j.state = '{JobState.QUEUED}'"
    f" AND j.next_attempt_at <= %s AND {_NOT_RUNNING_ELSEWHERE}"
)


def next_due(account_id: int, now: datetime) -> int | None:
    """The id of the account's next due job (not claimed: a hint for whom to send it)."""
    row = _one(_NEXT_DUE, [account_id, _when(now)])
    return row[0] if row else None


def pick(account_id: int, *, job_id: int | None, now: datetime) -> tuple[int, str, int, str] | None:
    """(id, kind, object id, operation) of job ``job_id`` (or, with None, of the account's
    job due longest) if it may run now; under :func:`lock_account`, before :func:`claim`."""
    if job_id is None:
        return _one(_NEXT_DUE, [account_id, _when(now)])
    return _one(_THIS_ONE, [job_id, _when(now)])


@lru_cache(maxsize=64)
def _lock_object_sql(table: str, column: str, skip_locked: bool) -> str:
    if not skip_locked:
        return f"UPDATE {table} SET sync_state = %s WHERE {column} = %s"
    # Only the rows nobody else holds; and how many rows there are, to tell.
    return (
        f"WITH mine AS (SELECT id FROM {table} WHERE {column} = %s FOR NO KEY UPDATE SKIP LOCKED),"
        f" syncing AS (UPDATE {table} SET sync_state = %s WHERE id IN (SELECT id FROM mine) RETURNING 1)"
        f" SELECT (SELECT COUNT(*) FROM syncing), (SELECT COUNT(*) FROM {table} WHERE {column} = %s)"
    )


def lock_object(table: str, column: str, object_id: int, *, wait: bool) -> bool:
    """Mark the object's rows syncing, which locks them: before the job is claimed, in the
    one lock order (the object, then its jobs; docs/sync.md). ``wait=False``: when another
    transaction holds one of them, take none and return False (PostgreSQL; the caller
    holds locks of its own, and waiting could close a cycle with a person's change that
    holds this object and wants one of those). SQLite's write lock makes this moot.
    """
    if wait or not _postgres():
        _execute(_lock_object_sql(table, column, False), [SyncState.SYNCING, object_id])
        return True
    got, total = _one(_lock_object_sql(table, column, True), [object_id, SyncState.SYNCING, object_id])
    if got != total:
        _execute(_lock_object_sql(table, column, False), [SyncState.PENDING, object_id])
        return False
    return True


_CLAIM = (
    f"UPDATE {JOBS} SET state = '{JobState.RUNNING}', started_at = %s, lease_expires_at = %s,"
    f" claimed_by = %s, attempts = attempts + 1"
    f" WHERE id = %s AND state = '{JobState.QUEUED}' AND {_UNDER_CAP}"
    f" RETURNING {', '.join(CLAIMED_COLUMNS)}"
)


def claim(
    account_id: int, cap: int, *, job_id: int, now: datetime, lease_until: datetime, worker: str
) -> SyncJob | None:
    """queued → running for job ``job_id`` (picked by :func:`pick`), if it is still queued
    (not superseded meanwhile) and the account has a free slot.

    Call under :func:`lock_account`. Returns the job, with the claim's fields set.
    """
    params = [_when(now), _when(lease_until), worker, job_id, account_id, cap]
    row = _one(_CLAIM, params)
    if row is None:
        return None
    values = dict(zip(CLAIMED_COLUMNS, row))
    for column in ("payload", "attempt_log"):
        if isinstance(values[column], str):
            values[column] = json.loads(values[column])
    job = SyncJob(**values, state=JobState.RUNNING, started_at=now, lease_expires_at=lease_until, claimed_by=worker)
    job._state.adding = False
    return job


_WANTING = (
    f"SELECT a.id, a.max_in_flight, (SELECT COUNT(*) FROM {JOBS} r WHERE r.carrier_account_id = a.id"
    f" AND r.state = '{JobState.RUNNING}') FROM {ACCOUNTS} a WHERE EXISTS (SELECT 1 FROM {JOBS} q"
    f" WHERE q.carrier_account_id = a.id AND q.state = '{JobState.QUEUED}' AND q.next_attempt_at <= %s)"
)


def wanting_accounts(now: datetime) -> list[tuple[int, int, int]]:
    """(account, cap, running) of every account with a job due: who waits for a worker."""
    with connection.cursor() as cursor:
        cursor.execute(_WANTING, [_when(now)])
        return cursor.fetchall()


_FREE_SLOTS = (
    f"SELECT a.max_in_flight"
    f" - (SELECT COUNT(*) FROM {JOBS} j WHERE j.carrier_account_id = a.id AND j.state = '{JobState.RUNNING}')"
    f" - (SELECT COUNT(*) FROM {JOBS} j WHERE j.carrier_account_id = a.id AND j.state = '{JobState.QUEUED}'"
    f" AND j.enqueued_at IS NOT NULL AND j.next_attempt_at <= %s AND j.enqueued_at >= %s)"
    f" FROM {ACCOUNTS} a WHERE a.id = %s"
)


def free_slots(account_id: int, *, now: datetime, fresh_since: datetime) -> int:
    """The account's cap less its running jobs and its messages on their way (queued, due,
    sent since ``fresh_since``): run at every commit that queues a change of the account."""
    row = _one(_FREE_SLOTS, [_when(now), _when(fresh_since), account_id])
    return row[0] if row else 0


def running_count(account_id: int) -> int:
    return _one(
        f"SELECT COUNT(*) FROM {JOBS} WHERE carrier_account_id = %s AND state = '{JobState.RUNNING}'", [account_id]
    )[0]


# ------------------------------------------------------------------- outcomes
def set_object_state(table: str, column: str, object_id: int, state: str) -> None:
    # The object's sync state, written by the engine alone.
    _execute(f"UPDATE {table} SET sync_state = %s WHERE {column} = %s", [state, object_id])


def _mark_synced(table: str, column: str, job: SyncJob, remote_id: str | None, now: datetime) -> tuple[str, list]:
    # Synced, or still pending when a newer change is queued: decided in the UPDATE, so a
    # change committed meanwhile is never marked synced.
    remote = ", remote_id = %s" if remote_id is not None else ""
    sql = (
        f"UPDATE {table} SET sync_error = '', synced_at = %s{remote}, sync_state = CASE WHEN EXISTS ("
        f"SELECT 1 FROM {JOBS} n WHERE n.object_kind = %s AND n.object_id = %s AND n.state = '{JobState.QUEUED}'"
        f" AND n.id <> %s) THEN '{SyncState.PENDING}' ELSE '{SyncState.SYNCED}' END WHERE {column} = %s"
    )
    params = [_when(now)] + ([remote_id] if remote_id is not None else [])
    return sql, params + [job.object_kind, job.object_id, job.pk, job.object_id]


_FINISH = (
    f"UPDATE {JOBS} SET state = %s, finished_at = %s, last_error = %s, error_kind = %s, lease_expires_at = NULL,"
    f" attempt_log = %s WHERE id = %s"
)
# A landed job keeps what it achieved: the delete of an object whose row went while its
# create was on its way finds the remote id here (issue #10, D5); and its story.
_LANDED = (
    f"UPDATE {JOBS} SET state = '{JobState.DONE}', finished_at = %s, last_error = '', error_kind = '',"
    f" lease_expires_at = NULL, payload = %s, attempt_log = %s WHERE id = %s"
)
_WAITING_CHILDREN = (
    f"SELECT id FROM {JOBS} WHERE parent_kind = %s AND parent_id = %s AND state = '{JobState.QUEUED}'"
    f" AND error_kind = '{ErrorKind.WAITING}'"
)


def finish(job_id: int, state: str, *, now: datetime, log: list, error: str = "", error_kind: str = "") -> None:
    _execute(_FINISH, [state, _when(now), error, error_kind, json_value(log), job_id])


def json_value(value: dict | list):
    """A dict as the backend takes it into a JSON column from plain SQL."""
    return SyncJob._meta.get_field("payload").get_db_prep_save(value, connection)


def land_push(table: str, column: str, job: SyncJob, *, remote_id: str | None, now: datetime, log: list) -> list[int]:
    """A push landed: its object synced (``table``/``column`` as ``state_rows``), the job
    done with the remote id it landed; returns the jobs of children that were waiting for
    this object.

    The object's rows are written before the job's (the lock order, docs/sync.md).
    PostgreSQL does the three in one statement (one round trip instead of three): the
    job's update reads the object's, so it runs after it; SQLite, in-process, runs them
    one by one.
    """
    synced_sql, synced_params = _mark_synced(table, column, job, remote_id, now)
    landed = {**job.payload, "remote_id": remote_id} if remote_id else job.payload
    landed_params = [_when(now), json_value(landed), json_value(log), job.pk]
    children_params = [job.object_kind, job.object_id]
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(
                f"WITH synced AS ({synced_sql} RETURNING 1),"
                f" done AS ({_LANDED} AND (SELECT COUNT(*) FROM synced) >= 0)"
                f" {_WAITING_CHILDREN}",
                synced_params + landed_params + children_params,
            )
        else:
            cursor.execute(synced_sql, synced_params)
            cursor.execute(_LANDED, landed_params)
            cursor.execute(_WAITING_CHILDREN, children_params)
        return [row[0] for row in cursor.fetchall()]


def land_delete(table: str, job: SyncJob, *, remote_id: str, now: datetime, log: list) -> None:
    """A delete landed. A row that outlives it (a released number stays, for its history)
    no longer names anything at the carrier: its remote id is cleared, and it is synced
    unless a newer change waits. Then the job is done, with the id it deleted."""
    cleared_sql, cleared_params = _mark_synced(table, "id", job, "", now)
    _execute(cleared_sql, cleared_params)
    landed = {**job.payload, "deleted": remote_id} if remote_id else job.payload
    _execute(_LANDED, [_when(now), json_value(landed), json_value(log), job.pk])


# -------------------------------------------------------------------- limiter
@lru_cache(maxsize=2)
def _throttle_sql(lock: bool) -> str:
    suffix = " FOR UPDATE" if lock else ""
    return f"SELECT blocked_until FROM {THROTTLES} WHERE carrier_account_id = %s{suffix}"


def throttle(account_id: int, *, lock: bool = False) -> tuple | None:
    """(blocked_until,) of the account's throttle row; ``lock``: until the transaction ends
    (PostgreSQL; SQLite's transaction holds its write lock already)."""
    return _one(_throttle_sql(lock and _postgres()), [account_id])


def recent_requests(account_id: int, since: float) -> tuple[int, float | None]:
    """How many requests were sent after ``since``, and the oldest of them."""
    return _one(f"SELECT COUNT(*), MIN(at) FROM {EVENTS} WHERE carrier_account_id = %s AND at > %s", [account_id, since])


def record_request(account_id: int, at: float, forget_before: float | None) -> None:
    _execute(f"INSERT INTO {EVENTS} (carrier_account_id, at) VALUES (%s, %s)", [account_id, at])
    if forget_before is not None:
        forget_requests(account_id, forget_before)


def forget_requests(account_id: int, before: float) -> None:
    _execute(f"DELETE FROM {EVENTS} WHERE carrier_account_id = %s AND at < %s", [account_id, before])


_TAKE_UNIT = (
    f"INSERT INTO {EVENTS} (carrier_account_id, at) SELECT %s, %s"
    f" WHERE (SELECT COUNT(*) FROM {EVENTS} WHERE carrier_account_id = %s AND at > %s) < %s"
    f" AND NOT EXISTS (SELECT 1 FROM {THROTTLES} WHERE carrier_account_id = %s AND blocked_until > %s)"
)


def take_request_unit(account_id: int, now: float, window_start: float, limit: int, *, forget: bool) -> bool:
    """SQLite, outside a transaction: record a request if the window has room and the
    account is not blocked, in one statement (atomic there); whether it was recorded."""
    blocked_at = _when(datetime.fromtimestamp(now, tz=dt_timezone.utc))
    taken = _execute(_TAKE_UNIT, [account_id, now, account_id, window_start, limit, account_id, blocked_at]) == 1
    if taken and forget:
        forget_requests(account_id, window_start)
    return taken


# ------------------------------------------------------------------- loading
class ObjectLoader:
    """Loads one object by pk with its ``related`` foreign keys, as the ORM's
    ``select_related(*related).filter(pk=…).first()`` would, from SQL built once.

    The columns are converted with the converters the ORM itself would apply (the
    backend's, then the field's: dates on SQLite, encrypted secrets...).
    """

    def __init__(self, model, related: tuple[str, ...]) -> None:
        self.model = model
        self.related = [model._meta.get_field(name) for name in related]
        tables = [(model, "m")] + [(field.related_model, f"r{index}") for index, field in enumerate(self.related)]
        self.columns = []  # (model, [(attname, column, converters)]) per table, in SELECT order
        select = []
        for table_model, alias in tables:
            fields = []
            for field in table_model._meta.concrete_fields:
                col = field.get_col(alias)
                converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                fields.append((field.attname, col, converters))
                select.append(f"{alias}.{connection.ops.quote_name(field.column)}")
            self.columns.append((table_model, fields))
        joins = "".join(
            f" LEFT OUTER JOIN {field.related_model._meta.db_table} r{index}"
            f" ON r{index}.{field.target_field.column} = m.{field.column}"
            for index, field in enumerate(self.related)
        )
        self.sql = f"SELECT {', '.join(select)} FROM {model._meta.db_table} m{joins} WHERE m.{model._meta.pk.column} = %s"

    def load(self, pk: int):
        row = _one(self.sql, [pk])
        if row is None:
            return None
        values = iter(row)
        instances = []
        for table_model, fields in self.columns:
            converted = []
            for _, col, converters in fields:
                value = next(values)
                for convert in converters:
                    value = convert(value, col, connection)
                converted.append(value)
            pk_index = [attname for attname, _, _ in fields].index(table_model._meta.pk.attname)
            instances.append(
                table_model.from_db(connection.alias, None, converted) if converted[pk_index] is not None else None
            )
        obj = instances[0]
        for field, related in zip(self.related, instances[1:]):
            field.set_cached_value(obj, related)
        return obj
