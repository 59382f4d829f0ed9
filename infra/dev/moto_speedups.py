"""moto's server made fast enough for the soak, with the same answers.

Measured on `ctpvx soak --aws` (seed 1, 1,000 orders, 5,000 movements): the stock server served
about 40 requests/s, its clients timed out on a growing backlog, and the run had not left its
first phase after 10 minutes. The time went not to SQS and DynamoDB but to work that grows with
the queues or repeats per request (below). With these patches the same run finished in 920 s
with every invariant at 0. Imported by moto_server.py; each patch keeps moto's results and
errors and changes only how much work it takes to reach them.

The patches, in file order:
- the backend for a Host header found once per host, not per request;
- SQS: clock reads as floats, a queue's three message counts in one walk (none on a send), a
  receive reading only its batch, the retention check read directly, a delete in one walk;
- no werkzeug log line per request, and no waitress "queue depth" warning per queued request;
- an account's existing backend looked up without moto's process-wide lock;
- a response class's method names (its actions) listed once per class, not per request;
- `camelcase_to_underscores` answers cached (action and SQS attribute names, per request);
- DynamoDB and SQS JSON calls (POST "/" with X-Amz-Target) handed to moto's view without Flask's
  request machinery, with the same response and flask-cors headers;
- waitress's main loop no longer spins on a connection whose worker is mid-send.
Measured with the soak's call mix (SendMessage, ReceiveMessage, GetItem, conditional PutItems,
BatchWriteItem, DeleteMessageBatch), the last four took moto from 530-680 to 1,060-1,130 calls
per second of server CPU.
"""

import functools
import inspect
import logging
import threading
import time

from botocore.exceptions import ClientError
from flask import Response
from flask_cors.core import ACL_ORIGIN, get_cors_headers, try_match_pattern
from moto import backends
from moto.core import responses as core_responses
from moto.core.base_backend import BackendDict
from moto.core import utils as core_utils
from moto.dynamodb.models.table import Table
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Queue, SQSBackend
from waitress.channel import HTTPChannel
from werkzeug.exceptions import HTTPException

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


# A table Query (no index) walks `all_items()`, which lists and sorts every item of the table,
# then keeps the ones with the queried hash key. The soak's state table grows past 100,000
# items, and the Peoplevox budget queries its slots' partition on every grant and every poll of
# a waiter: those walks became most of the server's time. The items of one hash key are
# `table.items[hash_key]` already; the same query over just them gives the same answer (moto
# sorts the partition by range key itself afterwards).
class _OnePartition:
    """The table as `Table.query` sees it, with `all_items()` narrowed to one partition."""

    def __init__(self, table, items):
        self._table = table
        self._items = items

    def __getattr__(self, name):
        return getattr(self._table, name)

    def all_items(self):
        return self._items


_table_query = Table.query
_table_query_signature = inspect.signature(_table_query)


def _query_one_partition(self, *args, **kwargs):
    # moto's backend passes most arguments by position (index_name among them).
    named = _table_query_signature.bind(self, *args, **kwargs).arguments
    hash_key = named.get("hash_key")
    if named.get("index_name") is not None or hash_key is None or not self.range_key_attr:
        return _table_query(self, *args, **kwargs)
    partition = self.items.get(hash_key)
    items = list(partition.values()) if partition else []
    return _table_query(_OnePartition(self, items), *args, **kwargs)


Table.query = _query_one_partition

# One log line per request is a write to stderr under the logging lock; errors still show.
logging.getLogger("werkzeug").setLevel(logging.WARNING)
# waitress warns "Task queue depth is N" on every request that finds all its threads busy, which
# under the soak is every request: measured at 8% of the server's GIL-holding time, spent in its
# one main loop that reads every connection. A queue is the expected state under that load.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


# Every `backends[account_id]` (several per call: the response's backend property, the IAM
# access-key bookkeeping) takes moto's one process-wide `backend_lock` to create the account's
# backend if it is missing, and scans the list of all BackendDicts. With a hundred busy threads
# that lock was where most of them waited. An account's backend, once made, stays until a
# reset, so when it is there it is returned without the lock; a missing one is made as before.
_backend_dict_getitem = BackendDict.__getitem__


@functools.wraps(_backend_dict_getitem)
def _existing_backend_first(self, account_id):
    backend = dict.get(self, account_id)
    if backend is not None and self in BackendDict._instances:
        return backend
    return _backend_dict_getitem(self, account_id)


BackendDict.__getitem__ = _existing_backend_first


# Every call looks its action up in `method_names_from_class(cls)`, an `inspect.getmembers` walk of
# the whole response class (hundreds of attributes, each read through getattr) per request. The
# public functions of a response class do not change while the server runs, so the list is built
# once per class.
@functools.lru_cache(maxsize=None)
def _method_names(cls):
    return frozenset(_method_names_uncached(cls))


_method_names_uncached = core_utils.method_names_from_class
core_responses.method_names_from_class = _method_names


# `camelcase_to_underscores` walks its argument a character at a time (four str calls per
# character); every call turns the action name with it, and every SQS send, receive and
# GetQueueAttributes turns each of ~20 queue attribute names. Its result depends on the string
# alone, so recent answers are kept (bounded, as some callers pass names from requests).
_camelcase_to_underscores = functools.lru_cache(maxsize=4096)(
    core_utils.camelcase_to_underscores
)
core_utils.camelcase_to_underscores = _camelcase_to_underscores
core_responses.camelcase_to_underscores = _camelcase_to_underscores
sqs_models.camelcase_to_underscores = _camelcase_to_underscores


# Flask's per-request machinery (request and app contexts, URL routing, signals, session, the
# before/after hooks) cost about as much as moto's own handling of a DynamoDB or SQS call. Those
# calls are all a POST to "/" that Flask routes to one view, the service's `dispatch`, whose
# response gets flask-cors's headers and nothing else. For exactly that case the view is called
# directly, as Flask would call it, and flask-cors's headers are added as its after-request hook
# would add them. Anything else (other paths, methods, services, or an app with other hooks) goes
# through Flask as before.
_FAST_SERVICES = ("dynamodb", "sqs")
_direct_views = {}


def _direct_view(app):
    """(moto's view callback, flask-cors resources) for a POST to "/" of `app`, or None."""
    if app not in _direct_views:
        _direct_views[app] = _resolve_direct_view(app)
    return _direct_views[app]


def _resolve_direct_view(app):
    if getattr(app, "service", None) not in _FAST_SERVICES:
        return None
    hooks = app.after_request_funcs.get(None, [])
    if (
        any(app.before_request_funcs.values())
        or list(app.after_request_funcs) not in ([], [None])
        or len(hooks) != 1
        or hooks[0].__name__ != "cors_after_request"
        or app.url_value_preprocessors
        or app.teardown_request_funcs
    ):
        return None
    try:
        endpoint, args = app.url_map.bind("localhost").match("/", method="POST")
    except HTTPException:  # no such route (NotFound, MethodNotAllowed, a redirect)
        return None
    view = app.view_functions[endpoint]
    if args or not isinstance(view, core_utils.convert_to_flask_response):
        return None
    resources = dict(
        zip(hooks[0].__code__.co_freevars, hooks[0].__closure__)
    )["resources"].cell_contents
    return view.callback, resources


def _respond_directly(view, environ, start_response):
    """What Flask, moto's convert_to_flask_response and flask-cors answer, without Flask."""
    callback, resources = view
    request = BackendRequest(environ)
    try:
        response = _moto_response(callback, request)
    except HTTPException as exc:
        # Flask answers an HTTPException raised by a view with the exception's own response.
        response = Response.force_type(exc, environ)
    _add_cors_headers(response, resources, request)
    return response(environ, start_response)


def _moto_response(callback, request):
    """moto's convert_to_flask_response.__call__, given the request instead of Flask's proxy."""
    recorder._record_request(request)
    try:
        result = callback(request, request.raw_url, dict(request.headers))
    except ClientError as exc:
        result = 400, {}, exc.response["Error"]["Message"]
    if len(result) == 3:
        status, headers, content = result
    else:
        status, headers, content = 200, {}, result
    return Response(response=content, status=status, headers=headers)


def _add_cors_headers(response, resources, request):
    """flask-cors's cors_after_request and set_cors_headers for a request to "/"."""
    if response.headers.get(ACL_ORIGIN):
        return
    for pattern, options in resources:
        if try_match_pattern("/", pattern, caseSensitive=True):
            cors = get_cors_headers(options, request.headers, request.method)
            for key, value in cors.items():
                response.headers.add(key, value)
            return


def _is_direct(environ):
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") == "/"
        and "HTTP_X_AMZ_TARGET" in environ
        and "werkzeug.debug.preserve_context" not in environ
    )


def _dispatch(self, environ, start_response):
    app = self.get_application(environ)
    view = _direct_view(app) if _is_direct(environ) else None
    if view is None:
        return app(environ, start_response)
    return _respond_directly(view, environ, start_response)


DomainDispatcherApplication.__call__ = _dispatch


# waitress's main loop asks every connection, on every turn, whether it is writable, and one with
# bytes in its out-buffer says yes. A worker flushes its own response (send_bytes is 1) under the
# channel's outbuf lock, and its send() releases the GIL with the bytes still counted: the main
# loop then sees a writable connection, poll() returns at once, handle_write cannot take the lock,
# and the loop spins (re-polling every connection) until the worker is back. Measured at ~18 turns
# of the loop per request, each taking the GIL from the workers. A connection whose lock a worker
# holds is now not writable; the worker pulls the trigger after it lets go of the lock if bytes
# are left, so the loop still sends whatever the worker could not.
def _writable(self):
    if self.will_close or self.close_when_flushed:
        return True
    if not self.total_outbufs_len:
        return False
    return not self.requests or _is_free(self.outbuf_lock)


def _is_free(lock):
    """Whether no other thread holds `lock` (taken and given back at once, never waited on)."""
    if not lock.acquire(False):
        return False
    lock.release()
    return True


def _write_then_wake(write_soon):
    @functools.wraps(write_soon)
    def wrapper(self, data):
        written = write_soon(self, data)
        if self.total_outbufs_len and self.connected:
            self.server.pull_trigger()
        return written

    return wrapper


HTTPChannel.writable = _writable
HTTPChannel.write_soon = _write_then_wake(HTTPChannel.write_soon)
