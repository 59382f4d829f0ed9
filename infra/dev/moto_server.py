"""moto's server, with its SQS and DynamoDB backends made atomic per call.

moto serves every request on its own thread but does not lock its backends. Two concurrent
ReceiveMessage calls can hand out the same message (raising its receive count twice) or both
move it to the dead-letter queue (`list.remove(x): x not in list`), and two conditional
writes can both pass their condition. Real SQS and DynamoDB do none of that, and the soak's
invariant checker counts every message parked without a reason, so the emulator must not
invent such losses. This wraps the mutating calls (and the reads that walk the same lists)
in one lock, as a single-writer store would be. A long poll waits on a condition of that lock,
so one idle receiver does not stall the others.

Usage: python infra/dev/moto_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import functools
import os
import threading
import time

import moto_speedups  # noqa: F401  (same answers, less work per call; see that file)
import waitress
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def _patch(cls, names):
    for name in names:
        setattr(cls, name, _locked(getattr(cls, name)))


_patch(
    SQSBackend,
    [
        "delete_message",
        "delete_message_batch",
        "get_queue_attributes",
        "purge_queue",
    ],
)
_patch(
    DynamoDBBackend,
    [
        "put_item",
        "update_item",
        "delete_item",
        "get_item",
        "query",
        "scan",
        "transact_write_items",
        "batch_write_item",
        "batch_get_item",
    ],
)

# A receiver with nothing to take waits on its queue's condition (sharing the one lock) and is
# woken by a send or a visibility change on that queue, instead of re-reading the queue every
# few milliseconds: each moto receive walks the whole queue, and with two dozen idle workers
# those re-reads took most of the server's time. The timed wake-up catches messages that become
# visible by the clock (an expired visibility timeout, a delay).
_RECHECK_S = 0.25
_changes = {}


def _changed(queue_name):
    """The condition of one queue; call with _LOCK held."""
    condition = _changes.get(queue_name)
    if condition is None:
        condition = _changes[queue_name] = threading.Condition(_LOCK)
    return condition


def _notifying(method, batch):
    """`method` (queue name first, a batch's entries second), then a wake-up for as many
    receivers of that queue as it may have made messages visible."""

    @functools.wraps(method)
    def wrapper(self, queue_name, *args, **kwargs):
        with _LOCK:
            result = method(self, queue_name, *args, **kwargs)
            _changed(queue_name).notify(max(1, len(args[0])) if batch else 1)
            return result

    return wrapper


for _name, _batch in [
    ("send_message", False),
    ("send_message_batch", True),
    ("change_message_visibility", False),
    ("change_message_visibility_batch", True),
]:
    setattr(SQSBackend, _name, _notifying(getattr(SQSBackend, _name), _batch))

_receive = SQSBackend.receive_message


@functools.wraps(_receive)
def _receive_message(
    self,
    queue_name,
    count,
    wait_seconds_timeout,
    visibility_timeout,
    message_attribute_names=None,
):
    deadline = time.monotonic() + float(wait_seconds_timeout or 0)
    with _LOCK:
        while True:
            result = _receive(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                return result
            _changed(queue_name).wait(min(remaining, _RECHECK_S))


SQSBackend.receive_message = _receive_message

# Enough for every long poll of a soak or of the test suite (each holding a thread for up to its
# 1 s wait) plus the calls that do the work; more requests than threads wait in waitress's queue.
_THREADS = 160


def serve(argv=None):
    """moto's application on waitress rather than moto_server's werkzeug development server.

    werkzeug answers every request with `Connection: close` and starts a thread for it: the
    soak's clients opened a TCP connection per call (19,188 sockets in TIME-WAIT during one
    soak, against 356 on waitress) and the server spent its time on that rather than on SQS and
    DynamoDB. waitress keeps connections alive and serves them from a fixed pool of threads.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument(
        "-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000))
    )
    args = parser.parse_args(argv)
    # moto builds some resource URLs (queue URLs among them) from this port.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=_THREADS,
        connection_limit=4096,
        # poll(), not select(): select() fails outright on a descriptor above 1023, which a
        # soak's burst of webhook sends reached (`ValueError: filedescriptor out of range`).
        asyncore_use_poll=True,
        channel_timeout=120,
        ident="moto",
    )


if __name__ == "__main__":
    serve()
