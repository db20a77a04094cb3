// The box config's schema lives in protocol/config/ (the cloud validates the configuration it sends with it).
export * from '../../protocol/config/schema.js';
