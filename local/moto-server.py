"""moto's server, with SQS made safe for concurrent requests.

moto 5.2's threaded server runs requests at once, but Queue.delete_message rebuilds
the queue's message list without the lock that add_message holds, and two receives
can take the same message. A delete alongside a send can drop the sent message; two
deletes can bring a deleted message back; real SQS does neither. Here each receive
and each delete holds its queue's lock (a reentrant Condition: a long poll waiting
inside a receive releases it while it waits).

moto also takes any number of message attributes; SQS refuses a message with more
than 10. Here a send refuses it too, with SQS's error.
"""
import functools
import sys

import moto.sqs.responses
from moto.server import main
from moto.sqs.exceptions import MessageAttributesInvalid
from moto.sqs.models import Queue, SQSBackend

_delete_message = Queue.delete_message
_receive_message = SQSBackend.receive_message
_validate_message_attributes = moto.sqs.responses.validate_message_attributes
MAX_MESSAGE_ATTRIBUTES = 10


@functools.wraps(_delete_message)
def delete_message(self, receipt_handle):
    with self._messages_lock:
        return _delete_message(self, receipt_handle)


@functools.wraps(_receive_message)
def receive_message(self, queue_name, *args, **kwargs):
    with self.get_queue(queue_name)._messages_lock:
        return _receive_message(self, queue_name, *args, **kwargs)


@functools.wraps(_validate_message_attributes)
def validate_message_attributes(message_attributes):
    count = len(message_attributes or {})
    if count > MAX_MESSAGE_ATTRIBUTES:
        raise MessageAttributesInvalid(
            f"Number of message attributes [{count}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}]."
        )
    return _validate_message_attributes(message_attributes)


Queue.delete_message = delete_message
SQSBackend.receive_message = receive_message
moto.sqs.responses.validate_message_attributes = validate_message_attributes

if __name__ == "__main__":
    sys.exit(main())
