"""moto's server made fast enough for the soak, with the same answers.

Measured on `ctpvx soak --aws` (seed 1, 1,000 orders, 5,000 movements): the stock server served
about 40 requests/s, its clients timed out on a growing backlog, and the run had not left its
first phase after 10 minutes. The time went not to SQS and DynamoDB but to work that grows with
the queues or repeats per request (below). With these patches the same run finished in 920 s
with every invariant at 0. Imported by moto_server.py; each patch keeps moto's results and
errors and changes only how much work it takes to reach them.
"""

import functools
import logging
import threading
import time

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Queue, SQSBackend

# moto finds the backend of every request under one server-wide lock, by listing its own package
# directory (a stat per service) and trying each service's URL regexes. Measured on the soak, that
# lookup, not the backends, was where the server spent its time: at ~40 requests/s it was the
# whole pipeline's bottleneck. The answer for a host never changes while the server runs, so it
# is computed once per host.
_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _modules
_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backend_cache = {}


@functools.wraps(_backend_for_host)
def _cached_backend_for_host(self, host):
    if host not in _backend_cache:
        _backend_cache[host] = _backend_for_host(self, host)
    return _backend_cache[host]


DomainDispatcherApplication.get_backend_for_host = _cached_backend_for_host

# moto's SQS asks the clock through datetime objects, twice per message whenever it walks a
# queue, and computes every queue attribute (three walks of the queue) on each send and on each
# message received (for the retention check). At soak sizes those walks were the server's time.
# The same answers, cheaper: the clock read as a float, the three counts in one walk, and the
# retention period read directly.
_unix_time = sqs_models.unix_time
_unix_time_millis = sqs_models.unix_time_millis
sqs_models.unix_time = lambda dt=None: time.time() if dt is None else _unix_time(dt)
sqs_models.unix_time_millis = (
    lambda dt=None: time.time() * 1000.0 if dt is None else _unix_time_millis(dt)
)


def _counts(queue):
    """(visible, delayed, in flight) of a queue, in one walk at one instant."""
    now = time.time() * 1000.0
    visible = delayed = in_flight = 0
    for message in queue._messages:
        is_delayed = now < message.delayed_until
        is_visible = now > message.visible_at
        delayed += is_delayed
        in_flight += not is_visible
        visible += is_visible and not is_delayed
    return visible, delayed, in_flight


_attributes = Queue.attributes.fget


# A send reads one attribute (ContentBasedDeduplication) out of the whole attributes dict; the
# message counts in that dict are never read there, so a send does not walk the queue for them.
_sending = threading.local()


def _send_without_counts(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        _sending.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _sending.active = False

    return wrapper


SQSBackend.send_message = _send_without_counts(SQSBackend.send_message)


def _attributes_in_one_walk(self):
    unread = getattr(_sending, "active", False)
    self._ctpvx_counts = (0, 0, 0) if unread else _counts(self)
    try:
        return _attributes(self)
    finally:
        del self._ctpvx_counts


def _count_property(index):
    def count(self):
        counts = self.__dict__.get("_ctpvx_counts")
        return (_counts(self) if counts is None else counts)[index]

    return property(count)


Queue.attributes = property(_attributes_in_one_walk)
for _index, _name in enumerate(
    [
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ]
):
    setattr(Queue, _name, _count_property(_index))


# A receive walks `Queue.messages` (the visible, undelayed messages) only until it has its batch,
# but moto builds that whole list first: with 100,000 stock messages queued, each receive of 10
# cost a walk of all of them. A generator gives the receive the same messages in the same order,
# as far as it reads. (The count that used len() is the one-walk count above; moto's own long-poll
# wait, which tested the list, is never reached: moto_server.py polls with a wait of 0.)
def _visible_messages(self):
    now = time.time() * 1000.0
    return (
        message
        for message in self._messages
        if now > message.visible_at and not now < message.delayed_until
    )


Queue.messages = property(_visible_messages)


def _within_retention(self, queue_name, message):
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > time.time()


SQSBackend.is_message_valid_based_on_retention_period = _within_retention


def _has_handle(message, receipt_handle):
    return (
        message.receipt_handle == receipt_handle
        or receipt_handle in message._old_receipt_handles
    )


def _delete_one(self, receipt_handle):
    """moto's Queue.delete_message (same errors, same bookkeeping) in one walk, not two."""
    if receipt_handle in self.deleted_messages:
        return
    for index, message in enumerate(self._messages):
        if _has_handle(message, receipt_handle):
            del self._messages[index]
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            return
    raise ReceiptHandleIsInvalid()


Queue.delete_message = _delete_one

# One log line per request is a write to stderr under the logging lock; errors still show.
logging.getLogger("werkzeug").setLevel(logging.WARNING)
