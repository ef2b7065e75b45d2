import { describe, expect, it } from 'vitest';
import { parseUniverse } from '../../src/ingest/universe.js';
import { csv, json, problemOf, rejection } from '../support/body-problems.js';

const HEADER = 'id,sector,industry,country,tags';

describe('parseUniverse from CSV', () => {
  it('reads the fixed columns, ;-separated tags and typed attributes', () => {
    const text = [
      `${HEADER},thermal_coal_revenue_share,controversy,rating`,
      'n1,10,101010,US,tobacco;controversial_weapons,0.02,4,AA',
      'n2,30,302030,GB, tobacco ; ;tobacco ,1e-3,,0x10',
    ].join('\n');
    expect(parseUniverse(csv(text))).toEqual([
      {
        id: 'n1',
        sector: '10',
        industry: '101010',
        country: 'US',
        tags: ['tobacco', 'controversial_weapons'],
        attributes: { thermal_coal_revenue_share: 0.02, controversy: 4, rating: 'AA' },
      },
      { id: 'n2', sector: '30', industry: '302030', country: 'GB', tags: ['tobacco'], attributes: { thermal_coal_revenue_share: 0.001, rating: '0x10' } },
    ]);
  });

  it('turns empty cells into null, [] and absent attributes', () => {
    expect(parseUniverse(csv(`${HEADER},coal\nn1,,, ,,\n`))).toEqual([
      { id: 'n1', sector: null, industry: null, country: null, tags: [], attributes: {} },
    ]);
  });

  it('reads a BOM, CRLF and quoted cells holding commas', () => {
    const text = `\uFEFF${HEADER},note\r\n"n1","10","101010","US","a;b","x, y"\r\n`;
    expect(parseUniverse(csv(text))[0]).toMatchObject({ id: 'n1', tags: ['a', 'b'], attributes: { note: 'x, y' } });
  });

  it('works with no attribute columns', () => {
    expect(parseUniverse(csv(`${HEADER}\nn1,10,1010,US,\n`))).toHaveLength(1);
  });

  it('refuses an empty body and a header without rows', () => {
    expect(rejection(() => parseUniverse(csv('')))).toEqual([expect.objectContaining({ code: 'empty_body', count: 1 })]);
    expect(rejection(() => parseUniverse(csv(`${HEADER}\n\n`)))).toEqual([expect.objectContaining({ code: 'empty_body', count: 1 })]);
  });

  it('reads the columns the header names, in any order, with only id required', () => {
    expect(parseUniverse(csv('id,sector\nn1,10\nn2,\n'))).toEqual([
      { id: 'n1', sector: '10', industry: null, country: null, tags: [], attributes: {} },
      { id: 'n2', sector: null, industry: null, country: null, tags: [], attributes: {} },
    ]);
    expect(parseUniverse(csv('coal,tags,id,country,industry,sector,rating\n0.5,a;b,n1,US,101010,10,AA\n'))).toEqual([
      { id: 'n1', sector: '10', industry: '101010', country: 'US', tags: ['a', 'b'], attributes: { coal: 0.5, rating: 'AA' } },
    ]);
    expect(parseUniverse(csv('id\nn1\n'))).toEqual([{ id: 'n1', sector: null, industry: null, country: null, tags: [], attributes: {} }]);
  });

  it('refuses a header without an id column, and says when the case or the separator is the trouble', () => {
    const problems = rejection(() => parseUniverse(csv('name,sector\nn1,1\n')));
    expect(problems).toEqual([expect.objectContaining({ code: 'missing_header', lines: [1], count: 1 })]);
    expect(problems[0].message).toContain('a header with an "id" column');
    expect(problems[0].message).toContain('found "name,sector"');
    expect(problemOf(() => parseUniverse(csv('ID,Sector\nn1,1\n')), 'missing_header').message).toContain('case-sensitive');
    expect(problemOf(() => parseUniverse(csv('id;sector;tags\nn1;10;a\n')), 'missing_header').message).toContain('";"-separated: separate columns with commas');
  });

  it('names an empty column name, and recognises the index column pandas writes', () => {
    const trailing = problemOf(() => parseUniverse(csv('id,sector,\nn1,10,\n')), 'unnamed_columns');
    expect(trailing).toMatchObject({ lines: [1], count: 1 });
    expect(trailing.message).toMatch(/^column 3 has no name \(a trailing comma/);
    const index = problemOf(() => parseUniverse(csv(',id,sector\n0,n1,10\n')), 'unnamed_columns');
    expect(index.message).toMatch(/^column 1 has no name; .*to_csv\(index=False\)/);
    const readBack = problemOf(() => parseUniverse(csv('Unnamed: 0,id,sector\n0,n1,10\n')), 'unnamed_columns');
    expect(readBack.message).toMatch(/^column 1 has no name \("Unnamed: 0"\); .*to_csv\(index=False\)/);
    expect(problemOf(() => parseUniverse(csv('id,,sector,\nn1,,10,\n')), 'unnamed_columns')).toMatchObject({ count: 2, message: expect.stringMatching(/^columns 2, 4 have no name/) });
  });

  it('names a repeated known column', () => {
    expect(problemOf(() => parseUniverse(csv('id,sector,tags,sector\nn1,1,,2\n')), 'duplicate_columns').message).toContain('"sector"');
    expect(problemOf(() => parseUniverse(csv('id,id\nn1,n1\n')), 'duplicate_columns').message).toContain('"id"');
  });

  it('keeps __proto__ and constructor as ordinary attribute names from CSV; refuses __proto__ in JSON rather than losing it', () => {
    const [row] = parseUniverse(csv(`${HEADER},__proto__,constructor\nn1,,,,,1,2\n`));
    expect(Object.getPrototypeOf(row.attributes)).toBeNull();
    expect(Object.entries(row.attributes)).toEqual([['__proto__', 1], ['constructor', 2]]);
    const fromJson = problemOf(() => parseUniverse(json(JSON.parse('{"rows": [{"id": "n1", "attributes": {"__proto__": 1}}]}'))), 'invalid_attribute_name');
    expect(fromJson).toMatchObject({ indexes: [0], count: 1 });
  });

  it('still checks the rows when attribute names are bad', () => {
    const problems = rejection(() => parseUniverse(csv(`${HEADER},bad-name\nn1,,,,,1\nn1,,,,,2\n`)));
    expect(problems.map((problem) => problem.code)).toEqual(['invalid_attribute_name', 'duplicate_ids']);
  });

  it('names bad and repeated attribute column names', () => {
    expect(problemOf(() => parseUniverse(csv(`${HEADER},coal-share,ok,${'a'.repeat(65)}\nn1,,,,,1,2,3\n`)), 'invalid_attribute_name')).toMatchObject({
      lines: [1],
      count: 2,
      message: expect.stringContaining('"coal-share", "aaaa'),
    });
    expect(problemOf(() => parseUniverse(csv(`${HEADER},coal,coal,sector\nn1,,,,,1,2,3\n`)), 'duplicate_columns')).toMatchObject({
      lines: [1],
      count: 2,
      message: '2 column names appear more than once in the header: "coal", "sector"',
    });
  });

  it('names rows of the wrong width, invalid ids and duplicates by line', () => {
    const text = `${HEADER},coal\nn1,,,,,1\nn2,,,,\nbad id,,,,,1\nn1,,,,,2\nn3,,,,,1e400\n`;
    const problems = rejection(() => parseUniverse(csv(text)));
    expect(problems).toEqual([
      { code: 'bad_row', message: 'line 3 has 5 fields, expected 6', lines: [3], count: 1 },
      expect.objectContaining({ code: 'invalid_id', lines: [4], count: 1, message: expect.stringContaining('line 4: "bad id"') }),
      { code: 'duplicate_ids', message: '1 id appears more than once: n1; remove the repeats at line 5', ids: ['n1'], lines: [5], count: 1 },
      expect.objectContaining({ code: 'not_finite', lines: [6], count: 1, message: expect.stringContaining('line 6, coal: "1e400"') }),
    ]);
  });
});

describe('parseUniverse from JSON', () => {
  it('reads rows with optional fields, trimmed like CSV cells', () => {
    const rows = [
      { id: 'n1', sector: ' 10 ', industry: '101010', country: null, tags: ['tobacco', ' ', 'tobacco'], attributes: { coal: 0.02, rating: 'AA', blank: ' ' } },
      { id: 'n2' },
    ];
    expect(parseUniverse(json({ rows }))).toEqual([
      { id: 'n1', sector: '10', industry: '101010', country: null, tags: ['tobacco'], attributes: { coal: 0.02, rating: 'AA' } },
      { id: 'n2', sector: null, industry: null, country: null, tags: [], attributes: {} },
    ]);
  });

  it('gives CSV and JSON of the same universe the same rows', () => {
    const fromCsv = parseUniverse(csv(`${HEADER},coal,rating\nn1,10,101010,US,a;b,0.5,AA\n`));
    const fromJson = parseUniverse(json({ rows: [{ id: 'n1', sector: '10', industry: '101010', country: 'US', tags: ['a', 'b'], attributes: { coal: 0.5, rating: 'AA' } }] }));
    expect(fromJson).toEqual(fromCsv);
  });

  it.each([
    ['an array', [{ id: 'n1' }]],
    ['rows that are not an array', { rows: { id: 'n1' } }],
    ['an extra top-level key', { rows: [{ id: 'n1' }], era: 3 }],
  ])('refuses %s, naming the accepted shape', (_, value) => {
    expect(problemOf(() => parseUniverse(json(value)), 'invalid_shape').message).toContain('a universe in JSON is {"rows": [');
  });

  it('refuses an empty rows array', () => {
    expect(rejection(() => parseUniverse(json({ rows: [] })))).toEqual([expect.objectContaining({ code: 'empty_body' })]);
  });

  it('names every faulty row by index, strictly', () => {
    const rows = [
      { id: 'n1' },
      { id: 'n1' },
      { id: 7 },
      { id: 'bad id' },
      { id: 'n5', sector: 10, extra: true },
      { id: 'n6', attributes: { 'bad-name': 1, ok: [1] } },
      'n7',
    ];
    const problems = rejection(() => parseUniverse(json({ rows })));
    expect(problems.map((problem) => problem.code)).toEqual(['invalid_attribute_name', 'bad_row', 'invalid_id', 'duplicate_ids']);
    expect(problems[0]).toMatchObject({ indexes: [5], count: 1, message: expect.stringContaining('rows[5].attributes: "bad-name"') });
    expect(problems[1]).toEqual({
      code: 'bad_row',
      message:
        '3 rows are malformed: rows[4].sector: expected a string or null, rows[4]: unexpected key "extra"; ' +
        'rows[5].attributes.ok: expected a finite number or a string; rows[6]: expected an object',
      indexes: [4, 5, 6],
      count: 3,
    });
    expect(problems[2]).toMatchObject({ indexes: [2, 3], count: 2, message: expect.stringContaining('rows[2].id: 7 (a number); rows[3].id: "bad id"') });
    expect(problems[3]).toMatchObject({ ids: ['n1'], indexes: [1], count: 1 });
  });
});
