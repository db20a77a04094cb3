// The box config's schema lives in protocol/config/ (the cloud validates the configuration it sends with it).
export * from '../../protocol/config/schema.js';

import type { BoxConfig as Config } from '../../protocol/config/schema.js';
/** A config fixed at construction, or read anew each time (a cloud-managed box changes it live). */
export type ConfigSource = Config | (() => Config);
export const configGetter = (c: ConfigSource): (() => Config) => (typeof c === 'function' ? c : () => c);
