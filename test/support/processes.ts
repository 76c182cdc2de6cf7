// Child-process helpers for tests (spawn, wait for a line, collect output, stop); they live in
// dev/host/childProcess.ts so dev scripts such as the demo can use them too.
export * from '../../dev/host/childProcess.js';
