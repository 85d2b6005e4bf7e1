import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

/** The one JSON line the command prints, checked to be exactly one line. */
function onlyJsonLine(stdout: string): unknown {
  const lines = stdout.split('\n');
  expect(lines, stdout).toHaveLength(2);
  expect(lines[1]).toBe('');
  return JSON.parse(lines[0]!);
}

describe('tramite cf check', () => {
  it('prints the decoded data and exits 0 for a valid code (reference vector)', async () => {
    const r = await runCli(['cf', 'check', 'CNTCHR83T41D969D']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('{"valid":true,"normalized":"CNTCHR83T41D969D","birthDate":"1983-12-01","sex":"F","placeCode":"D969"}\n');
  });

  it('decodes an omocodic code, after normalizing case and spaces', async () => {
    const r = await runCli(['cf', 'check', ' rccmnl upsmud vsvo ']);
    expect(r.code, r.stderr).toBe(0);
    expect(onlyJsonLine(r.stdout)).toEqual({
      valid: true,
      normalized: 'RCCMNLUPSMUDVSVO',
      birthDate: '1983-11-18',
      sex: 'M',
      placeCode: 'D969',
    });
  });

  it('prints nulls and the reason and exits 1 for an invalid code', async () => {
    const r = await runCli(['cf', 'check', 'RCCMNL83S18D969A']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(onlyJsonLine(r.stdout)).toEqual({
      valid: false,
      normalized: 'RCCMNL83S18D969A',
      birthDate: null,
      sex: null,
      placeCode: null,
      reason: 'check character is "A", expected "H"',
    });
  });

  it('treats an empty code as an invalid code, not a usage error', async () => {
    const r = await runCli(['cf', 'check', '']);
    expect(r.code).toBe(1);
    expect(onlyJsonLine(r.stdout)).toMatchObject({ valid: false, normalized: '', reason: 'expected 16 characters, got 0' });
  });

  it.each([
    [['cf', 'check'], /missing required argument 'code'/],
    [['cf', 'check', 'RCCMNL83S18D969H', 'CNTCHR83T41D969D'], /too many arguments/],
    [['cf', 'check', '--bogus', 'RCCMNL83S18D969H'], /unknown option '--bogus'/],
    [['cf'], /Usage: tramite cf/],
  ])('exits 2 with nothing on stdout on the usage error %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it('--help explains the output, the century rule and the exit codes, and exits 0', async () => {
    const r = await runCli(['cf', 'check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: tramite cf check [options] <code>');
    expect(r.stdout).toMatch(/omocodic/i);
    expect(r.stdout).toContain('century');
    expect(r.stdout).toContain('Exit status: 0 valid, 1 invalid, 2 usage error.');
  });

  it('is listed in the top-level help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+cf\s/m);
  });
});
