// Fault injection for the redrive test: the process SIGKILLs itself as it is about to send its
// KILL_AT_DELETE-th DeleteMessageBatch, that is, after that batch's copies were accepted by the
// events queue and before they are deleted from the dead-letter queue.
const http = require('http');
const killAt = Number(process.env.KILL_AT_DELETE);
let deletes = 0;
const request = http.request;
http.request = function (...args) {
  const headers = (args[0] && args[0].headers) || {};
  const target = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-amz-target');
  if (target && target[1] === 'AmazonSQS.DeleteMessageBatch' && ++deletes === killAt) process.kill(process.pid, 'SIGKILL');
  return request.apply(this, args);
};
