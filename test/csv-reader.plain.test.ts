import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRows } from '../src/data/csv-reader.ts';
import { INPUT_LIMITS } from '../src/data/limits.ts';

const dir = mkdtempSync(join(tmpdir(), 'storecast-plain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads `body` under a plain header (the fast reader) and under a quoted one (csv-parse). */
async function bothWays(body: string, indexes = [0, 1, 2, 3, 4]) {
  const read = async (header: string) => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(path, `${header}\n${body}`);
    const rows = [];
    for await (const chunk of readRows(path, { indexes })) rows.push(...chunk);
    return rows;
  };
  return { plain: await read('Store,Dept,Date,Weekly_Sales,IsHoliday'), parsed: await read('"Store",Dept,Date,Weekly_Sales,IsHoliday') };
}

describe('plain LF files read without csv-parse', () => {
  it('give the rows, fields and line numbers csv-parse gives', async () => {
    const body = ['1,1,2010-02-05,24924.5,FALSE', '', ' 2 ,\t3,2010-02-12, -5 ,TRUE', '1,2', 'a,b,c,d,e,f,g', '', '9,9,2010-02-19,1,FALSE'].join('\n');
    const { plain, parsed } = await bothWays(body);
    expect(plain).toEqual(parsed);
    expect(plain.map((r) => r.line)).toEqual([2, 4, 5, 6, 8]);
  });

  it('read a last line without its line feed, reorder columns, and refuse too many fields alike', async () => {
    const wide = Array.from({ length: INPUT_LIMITS.columns + 1 }, (_, i) => String(i)).join(',');
    const { plain, parsed } = await bothWays(`1,1,2010-02-05,10,FALSE\n${wide}\n3,4,2010-02-05,7,TRUE`, [4, 3, 2, 1, 0]);
    expect(plain).toEqual(parsed);
    expect(plain[1]!.refused).toMatch(/fields; a row has at most/);
    expect(plain[2]!.fields).toEqual(['TRUE', '7', '2010-02-05', '4', '3']);
  });

  it('stop at an overlong line with the same refused last row', async () => {
    const { plain, parsed } = await bothWays(`1,1,2010-02-05,10,FALSE\n${'9'.repeat(INPUT_LIMITS.lineBytes + 10)}\n2,2,2010-02-05,1,FALSE\n`);
    expect(plain).toEqual(parsed);
    expect(plain.at(-1)).toMatchObject({ line: 3, stop: true });
  });
});
