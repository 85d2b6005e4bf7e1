import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';

const schema = JSON.parse(readFileSync(new URL('../../schemas/config.schema.json', import.meta.url), 'utf8'));
const examplesDir = new URL('../../config/examples/', import.meta.url);

describe('config/examples', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv, ['uri']);
  const validate = ajv.compile(schema);
  it.each(readdirSync(examplesDir).filter((f) => f.endsWith('.json')))('%s matches the config schema', (file) => {
    const example = JSON.parse(readFileSync(new URL(file, examplesDir), 'utf8'));
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
  });
});
