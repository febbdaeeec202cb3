import { describe, expect, it } from 'vitest';
import { effectiveLogLevel } from '../src/index.js';

describe('LOG_LEVEL', () => {
  it('overrides the config file when it names a level, and is ignored otherwise', () => {
    expect(effectiveLogLevel('info', {})).toBe('info');
    expect(effectiveLogLevel('info', { LOG_LEVEL: 'debug' })).toBe('debug');
    expect(effectiveLogLevel('info', { LOG_LEVEL: ' WARN ' })).toBe('warn');
    expect(effectiveLogLevel('warn', { LOG_LEVEL: 'verbose' })).toBe('warn');
    expect(effectiveLogLevel('warn', { LOG_LEVEL: '' })).toBe('warn');
  });
});
