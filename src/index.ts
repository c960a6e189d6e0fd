export * from './errors';
export type * from './oxd/commands';
export type { OxdConfig, OxdSettings, ClientSettings } from './config/types';
