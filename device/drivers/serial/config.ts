export * from '../../../protocol/config/serial.js';
