// The box configuration: its schema and validation, shared by the box and the cloud. No I/O.
export * from './schema.js';
export * from './drivers.js';
export * from './gpio.js';
export * from './serial.js';
export * from './validate.js';
