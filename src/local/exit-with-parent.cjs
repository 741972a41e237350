'use strict';
// Preloaded (`node --require`) into the child processes the local platform starts
// (cognito-local): the parent holds the child's stdin open as a pipe, and the OS closes it when
// the parent exits for any reason, `kill -9` included. Then the child exits too, freeing its port.
const bye = () => process.exit(0);
process.stdin.on('end', bye);
process.stdin.on('close', bye);
process.stdin.on('error', bye);
process.stdin.resume();
