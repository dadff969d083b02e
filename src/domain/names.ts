import { ValidationError } from './errors.js';
import { excerpt } from './excerpt.js';

/** Names of databases, tenants and scopes: 1–64 of [A-Za-z0-9_.-]; never interpreted as paths. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export type NameKind = 'database' | 'tenant' | 'scope';

export function isValidName(value: string): boolean {
  return NAME.test(value) && value !== '.' && value !== '..';
}

export function parseName(kind: NameKind, value: unknown): string {
  if (typeof value !== 'string' || !isValidName(value)) {
    throw new ValidationError(`invalid ${kind} name: must be 1-64 characters of [A-Za-z0-9_.-]`, {
      field: kind,
      value: excerpt(value ?? null),
    });
  }
  return value;
}
