// Loaded with --require into a child_process.fork child by fake-utility-process.ts: gives the child
// the process.parentPort an Electron utility process has (messages arrive as { data }), so the real
// worker runs its utilityProcess code path under plain Node.
const { EventEmitter } = require('node:events');

const parentPort = new EventEmitter();
parentPort.postMessage = (message) => {
  if (process.connected) process.send(message, undefined, {}, () => undefined);
};
process.on('message', (data) => parentPort.emit('message', { data }));
// A utility process dies with its parent; the fake child leaves when the test process does.
process.on('disconnect', () => process.exit(0));
Object.defineProperty(process, 'parentPort', { value: parentPort, enumerable: false });
