"""moto's server, with SQS made safe for concurrent requests.

moto 5.2's threaded server runs requests at once, but Queue.delete_message rebuilds
the queue's message list without the lock that add_message holds, and two receives
can take the same message. A delete alongside a send can drop the sent message; two
deletes can bring a deleted message back; real SQS does neither. Here each receive
and each delete holds its queue's lock (a reentrant Condition: a long poll waiting
inside a receive releases it while it waits).
"""
import functools
import sys

from moto.server import main
from moto.sqs.models import Queue, SQSBackend

_delete_message = Queue.delete_message
_receive_message = SQSBackend.receive_message


@functools.wraps(_delete_message)
def delete_message(self, receipt_handle):
    with self._messages_lock:
        return _delete_message(self, receipt_handle)


@functools.wraps(_receive_message)
def receive_message(self, queue_name, *args, **kwargs):
    with self.get_queue(queue_name)._messages_lock:
        return _receive_message(self, queue_name, *args, **kwargs)


Queue.delete_message = delete_message
SQSBackend.receive_message = receive_message

if __name__ == "__main__":
    sys.exit(main())
