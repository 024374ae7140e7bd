"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled briskly.

kombu polls a database broker once a second by default, which puts up to a second
between a committed change and a worker picking it up. A sync job should start within
moments, so the embedded default polls ten times a second; production uses Redis.

A worker on this transport also gets back from each wait within one polling interval:
Celery's loop for a polled broker waits up to 2 s for a message, and the late
acknowledgements of finished tasks are only handled between two waits. With the
prefetch window full until they are, a worker would take ``concurrency`` tasks every
2 s however quickly it runs them.
"""

from kombu.transport import sqlalchemy


class Transport(sqlalchemy.Transport):
    polling_interval = 0.1

    def drain_events(self, connection, timeout=None):
        if timeout is None or timeout > self.polling_interval:
            timeout = self.polling_interval
        return super().drain_events(connection, timeout=timeout)
