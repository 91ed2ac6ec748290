export * from './errors';
export * from './store';
export * from './watch-cache';
