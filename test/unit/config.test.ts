import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { replaceSettingsTable } from '../../src/config/settings-doc.ts';
import { SETTINGS } from '../../src/config/settings.ts';

describe('the settings table', () => {
  it('is what docs/configuration.md shows (run `npm run docs:config` after changing a setting)', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    expect(replaceSettingsTable(doc)).toBe(doc);
  });

  it('gives every setting a default that its own type accepts', () => {
    for (const s of Object.values(SETTINGS)) {
      if (s.default === null) continue;
      expect((s.type.parse as (raw: string) => unknown)(String(s.default))).toEqual(s.default);
    }
  });

  it('reads the environment over the file, and treats an empty variable as unset', () => {
    const config = loadConfig({ WHARF_PORT: '', WHARF_LOG_LEVEL: 'debug', WHARF_DATA_DIR: '/srv/wharf' });
    expect(config.port).toBe(8080);
    expect(config.logLevel).toBe('debug');
    expect(config.databaseUrl).toBe('sqlite:/srv/wharf/wharf.db');
  });

  it('names the setting, the value and what would work', () => {
    expect(() => loadConfig({ WHARF_MAX_JSON_BODY: '10' })).toThrow(new ConfigError('WHARF_MAX_JSON_BODY', '10', 'use a whole number of at least 1024'));
    expect(() => loadConfig({ WHARF_S3_PRESIGN_TTL: '604801', WHARF_BLOB_STORE: 's3', WHARF_S3_BUCKET: 'b' })).toThrow(
      /WHARF_S3_PRESIGN_TTL="604801": use a whole number from 1 to 604800/,
    );
    expect(() => loadConfig({ WHARF_BLOB_STORE: 's3' })).toThrow(/^WHARF_S3_BUCKET: required with WHARF_BLOB_STORE=s3/);
    expect(() => loadConfig({ WHARF_ADMIN_TOKEN: 'x', WHARF_PORT: '-1' })).toThrow(/WHARF_PORT="-1"/);
  });
});
