import { version } from '../package.json';

/** This svcat's version, as kubectl prints its own: v0.1.0. */
export const clientVersion = `v${version}`;
