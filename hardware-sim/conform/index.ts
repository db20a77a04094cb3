// The vendor conformance kit: check a box as a device would (box-check), or check a device under test
// against a box the kit runs (device-check).
export * from './checks.js';
export * from './box-check.js';
export * from './sniffer.js';
export * from './device-check.js';
