/**
 * @module config/describe
 * Where an instance keeps its data, in words for start-up lines and the CLI (passwords masked).
 */
import type { WharfConfig } from './config.ts';
import { SETTINGS, shown } from './settings.ts';

export interface StoreDescription {
  dataDir: string;
  database: string;
  blobStore: string;
}

export function describeStore(config: WharfConfig): StoreDescription {
  return {
    dataDir: config.dataDir,
    database: config.databaseUrl.startsWith('sqlite:') ? `SQLite ${config.databaseUrl.slice('sqlite:'.length)}` : `PostgreSQL ${shown(SETTINGS.databaseUrl, config.databaseUrl)}`,
    blobStore: config.s3 ? `S3 bucket ${config.s3.bucket}${config.s3.endpoint ? ` at ${config.s3.endpoint}` : ''}` : `files in ${config.blobDir}`,
  };
}

/** One line: "data directory /srv/wharf (SQLite …, files in …)". */
export function describeStoreLine(config: WharfConfig): string {
  const d = describeStore(config);
  return `data directory ${d.dataDir}; database ${d.database}; blobs ${d.blobStore}`;
}
