/** Option parsers shared by several commands, with errors that name the option. */
import { InvalidArgumentError } from 'commander';

// Decimal text only: Number() alone reads "" and "  " as 0 (an unset $EPOCHS in a script) and "0x10" as 16.
const DECIMAL_INT = /^[+-]?\d+$/;
const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The number a decimal option value spells, NaN for anything else. */
function decimal(v: string): number {
  return DECIMAL_NUMBER.test(v.trim()) ? Number(v) : NaN;
}

export function parseIntOption(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = DECIMAL_INT.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

export function parseFloatOption(name: string, min = -Infinity, max = Infinity): (v: string) => number {
  const range = max === Infinity ? (min === -Infinity ? '' : ` ≥ ${min}`) : min === -Infinity ? ` ≤ ${max}` : ` in [${min}, ${max}]`;
  return (v: string) => {
    const n = decimal(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number${range}, got "${v}"`);
    return n;
  };
}

/** A number > 0 (a learning rate: 0 would train nothing). */
export function parsePositiveFloatOption(name: string): (v: string) => number {
  return (v: string) => {
    const n = decimal(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0, got "${v}"`);
    return n;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name} must be one of ${choices.join('|')}, got "${v}"`);
    return v as T;
  };
}
