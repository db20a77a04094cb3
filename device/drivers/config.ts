// The driver config schemas live in protocol/config/ (shared with the cloud).
export * from '../../protocol/config/drivers.js';
