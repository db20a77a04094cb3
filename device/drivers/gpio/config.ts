export * from '../../../protocol/config/gpio.js';
