import type { Strategy } from './strategy';

/** The strategy of each servicecatalog kind, by kind; kinds not listed use the generic strategy. */
export const servicecatalogStrategies: Record<string, Strategy> = {};
