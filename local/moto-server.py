"""moto's server, with SQS made safe for concurrent requests.

moto 5.2's threaded server runs requests at once, but Queue.delete_message rebuilds
the queue's message list without the lock that add_message holds, and two receives
can take the same message. A delete alongside a send can drop the sent message; two
deletes can bring a deleted message back; real SQS does neither. Here each receive
and each delete holds its queue's lock (a reentrant Condition: a long poll waiting
inside a receive releases it while it waits).

moto also takes any number of message attributes; SQS refuses a message with more
than 10. Here a send refuses it too, with SQS's error.

EventBridge faults, for the tests of the consumer's fan-out (a failed put cannot be
made to happen on a real bus at will), by the bus's tag kx-events:fault:
- refuse: every PutEvents is refused (AccessDeniedException), as by a bus policy or
  a role without events:PutEvents;
- first-put: the first PutEvents of some events fails. A request none of whose events
  (by the Detail's eventId) failed before fails when its first event's id ends with
  0-3 (the whole request is refused) or 4-7 (every other entry fails: InternalFailure);
  its events never fail again.
Other buses are moto's own.

moto's EventBridge also builds a new JSONPath parser (a yacc table) for each path of
each event it delivers to a target, some 20 ms an event, which makes PutEvents take
hundreds of milliseconds: here each path is parsed once.

moto's SQS costs in proportion to a queue's length where SQS does not, which makes
EventBridge's delivery to a rule's queue (and SendMessage) slower as the queue grows, and
lets a subscriber's queue that is being polled fall behind for good (a PutEvents of 10
entries with a rule to a polled queue, 130 ms at 500 entries and 830 ms at 2,500). Here
both cost a constant (~18 ms):
- a send reads one attribute of its queue, ContentBasedDeduplication, and a receive one
  for each message it takes, MessageRetentionPeriod, from Queue.attributes, which first
  counts the queue's messages three times (visible, delayed, in flight), checking each
  message's timestamps. Here neither counts: while a thread sends to or receives from a
  queue, that queue's counts read as None in its attributes (neither reads them); every
  other reader (GetQueueAttributes) counts as before.
- a receive lists every visible message of the queue (Queue.messages), then takes the
  first 10; a long poll's wait lists them all to see whether there is one. Here
  Queue.messages finds them as they are asked for: a receive checks the messages up to
  the ones it takes, and a wait up to the first visible one.
"""
import contextlib
import functools
import json
import sys
import threading

import jsonpath_ng.ext
import moto.sqs.responses
from moto.core.exceptions import JsonRESTError
from moto.events.models import EventsBackend
from moto.server import main
from moto.sqs.exceptions import MessageAttributesInvalid
from moto.sqs.models import Queue, SQSBackend

_delete_message = Queue.delete_message
_send_message = SQSBackend.send_message
_receive_message = SQSBackend.receive_message
_validate_message_attributes = moto.sqs.responses.validate_message_attributes
MAX_MESSAGE_ATTRIBUTES = 10


@functools.wraps(_delete_message)
def delete_message(self, receipt_handle):
    with self._messages_lock:
        return _delete_message(self, receipt_handle)


@functools.wraps(_receive_message)
def receive_message(self, queue_name, *args, **kwargs):
    queue = self.get_queue(queue_name)
    with queue._messages_lock, _uncounted(queue):
        return _receive_message(self, queue_name, *args, **kwargs)


@functools.wraps(_validate_message_attributes)
def validate_message_attributes(message_attributes):
    count = len(message_attributes or {})
    if count > MAX_MESSAGE_ATTRIBUTES:
        raise MessageAttributesInvalid(
            f"Number of message attributes [{count}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}]."
        )
    return _validate_message_attributes(message_attributes)


_counting = threading.local()
QUEUE_COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_delayed", "approximate_number_of_messages_not_visible")


@contextlib.contextmanager
def _uncounted(queue):
    """While this thread sends to or receives from `queue`, its counts read as None."""
    _counting.skipped = queue
    try:
        yield
    finally:
        _counting.skipped = None


def _uncounted_while_sending_or_receiving(count):
    return property(lambda queue: None if getattr(_counting, "skipped", None) is queue else count.fget(queue))


@functools.wraps(_send_message)
def send_message(self, queue_name, *args, **kwargs):
    with _uncounted(self.get_queue(queue_name)):
        return _send_message(self, queue_name, *args, **kwargs)


class VisibleMessages:
    """A queue's visible messages, in order, found as they are iterated: moto's Queue.messages, without listing them all."""

    def __init__(self, messages):
        self._messages = messages

    def __iter__(self):
        return (m for m in self._messages if m.visible and not m.delayed)

    def __bool__(self):
        return next(iter(self), None) is not None

    def __len__(self):
        return sum(1 for _ in self)


FAULT_TAG = "kx-events:fault"
# By the last hex digit of the request's first eventId (random in any UUID version; the first is a UUIDv7's time).
FAULTS = {**dict.fromkeys("0123", "refuse"), **dict.fromkeys("4567", "every-other")}
_put_events = EventsBackend.put_events
_faulted_events = set()
_faults_lock = threading.Lock()


def _bus_fault(backend, entry):
    name = (entry.get("EventBusName") or "default").split("/")[-1]
    bus = backend.event_buses.get(name)
    return bus and backend.tagger.get_tag_dict_for_resource(bus.arn).get(FAULT_TAG)


def _refused():
    return JsonRESTError(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/consumer is not authorized to perform: events:PutEvents (kx-events:fault)",
    )


def _event_id(entry):
    try:
        return str(json.loads(entry.get("Detail") or "{}").get("eventId") or "")
    except (ValueError, AttributeError):
        return ""


@functools.wraps(_put_events)
def put_events(self, events):
    bus_fault = events and _bus_fault(self, events[0])
    if bus_fault == "refuse":
        raise _refused()
    if bus_fault != "first-put":
        return _put_events(self, events)
    ids = [_event_id(e) for e in events]
    with _faults_lock:
        fault = None if _faulted_events.intersection(ids) else FAULTS.get(ids[0][-1:])
        if fault:
            _faulted_events.update(ids)
    if fault == "refuse":
        raise _refused()
    if fault != "every-other":
        return _put_events(self, events)
    put = iter(_put_events(self, events[1::2]))
    failure = {"ErrorCode": "InternalFailure", "ErrorMessage": "kx-events:fault"}
    return [failure if i % 2 == 0 else next(put) for i in range(len(events))]


EventsBackend.put_events = put_events
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
Queue.delete_message = delete_message
for _count in QUEUE_COUNTS:
    setattr(Queue, _count, _uncounted_while_sending_or_receiving(getattr(Queue, _count)))
SQSBackend.send_message = send_message
Queue.messages = property(lambda queue: VisibleMessages(queue._messages))
SQSBackend.receive_message = receive_message
moto.sqs.responses.validate_message_attributes = validate_message_attributes

if __name__ == "__main__":
    sys.exit(main())
