// The contract between box, peripherals and cloud. No I/O; imports nothing of ours.
export * from './topics.js';
export * from './limits.js';
export * from './messages.js';
export * from './events.js';
export * from './errors.js';
export * from './validate.js';
export * from './led-frame.js';
export * from './cloud-api.js';
export * from './satisfaction.js';
export * from './dossier-lookup.js';
