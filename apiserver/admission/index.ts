import type { AdmissionPlugin } from './types';

/** Every admission plugin this server has, by the name --enable-admission-plugins uses. */
export const admissionPlugins: Record<string, AdmissionPlugin> = {};

/** Enabled when --enable-admission-plugins is not given, in this order. */
export const defaultAdmissionPlugins: string[] = [];
