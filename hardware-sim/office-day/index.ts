// The office-day generator: a seeded, simulated day of citizens and clerks played against a box.
export * from './clock.js';
export * from './day.js';
export * from './kpi.js';
export * from './profile.js';
export * from './random.js';
export * from './run.js';
