"""moto's server, with its SQS and DynamoDB backends made atomic per call.

moto serves every request on its own thread but does not lock its backends. Two concurrent
ReceiveMessage calls can hand out the same message (raising its receive count twice) or both
move it to the dead-letter queue (`list.remove(x): x not in list`), and two conditional
writes can both pass their condition. Real SQS and DynamoDB do none of that, and the soak's
invariant checker counts every message parked without a reason, so the emulator must not
invent such losses. This wraps the mutating calls (and the reads that walk the same lists)
in one lock, as a single-writer store would be. A long poll waits outside the lock, so one
idle receiver does not stall the others.

Usage: python infra/dev/moto_server.py -H 127.0.0.1 -p PORT   (the arguments of moto_server)
"""

import functools
import sys
import threading
import time

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.sqs.models import SQSBackend

_LOCK = threading.RLock()
_POLL_PAUSE_S = 0.05


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
        "send_message",
        "send_message_batch",
        "delete_message",
        "delete_message_batch",
        "change_message_visibility",
        "change_message_visibility_batch",
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
    ],
)

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
    while True:
        with _LOCK:
            result = _receive(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(_POLL_PAUSE_S)


SQSBackend.receive_message = _receive_message

if __name__ == "__main__":
    sys.exit(main())
