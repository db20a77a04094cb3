// MQTT-native simulated peripherals speaking protocol v1: for tests, the office-day generator, the
// conformance kit and `lobby sim devices`.
export * from './device.js';
export * from './kiosk.js';
export * from './keypad.js';
export * from './rating-box.js';
export * from './scanner.js';
export * from './lookup-station.js';
export * from './outputs.js';
export * from './display.js';
export * from './credentials.js';
export * from './describe.js';
