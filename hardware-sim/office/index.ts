// A whole office's simulated hardware (`lobby sim office`, `lobby demo`).
export * from './console.js';
export * from './office-sim.js';
export * from './plan.js';
