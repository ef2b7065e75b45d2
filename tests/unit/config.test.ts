import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      DATA_DIR: '.data',
      LOG_LEVEL: 'info',
      POLICY_FOUR_EYES: true,
      MAIN_TARGET: 'target',
      RATE_LIMIT_PER_MINUTE: 3000,
      STAKE_FUNDING: 'wallet',
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(loadConfig({ STAKE_FUNDING: 'open' }).STAKE_FUNDING).toBe('open');
  });

  it('reads booleans and numbers from strings', () => {
    const config = loadConfig({ PORT: '8080', POLICY_FOUR_EYES: 'false', RATE_LIMIT_PER_MINUTE: '10' });
    expect(config.PORT).toBe(8080);
    expect(config.POLICY_FOUR_EYES).toBe(false);
    expect(config.RATE_LIMIT_PER_MINUTE).toBe(10);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['LOG_LEVEL', 'loud'],
    ['POLICY_FOUR_EYES', 'maybe'],
    ['MAIN_TARGET', 'has space'],
    ['BOOTSTRAP_ADMIN_KEY', 'short'],
    ['RATE_LIMIT_PER_MINUTE', '0'],
    ['STAKE_FUNDING', 'free'],
  ])('rejects %s=%s and names the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid environment:\\n  ${name}:`));
  });

  it('takes a default for an unset variable from the caller (the command line logs warnings), the environment first', () => {
    expect(loadConfig({}, { LOG_LEVEL: 'warn' }).LOG_LEVEL).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: '' }, { LOG_LEVEL: 'warn' }).LOG_LEVEL).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: 'debug' }, { LOG_LEVEL: 'warn' }).LOG_LEVEL).toBe('debug');
    expect(() => loadConfig({}, { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
