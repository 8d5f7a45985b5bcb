import { describe, expect, it } from 'vitest';
import { ChartproofError } from '../../../src/errors.js';
import {
  mergeUserValues,
  parseSet,
  parseSetInto,
  StrvalsError,
  typedVal,
  type UserValuesOptions,
  type Values,
} from '../../../src/render/values/index.js';
import { goJson, typesLine } from './go-json.js';
import { SET_CASES } from './helm-set.cases.js';

function optionsOf(flags: [string, string][]): UserValuesOptions {
  const o = {
    values: [] as string[],
    stringValues: [] as string[],
    jsonValues: [] as string[],
    literalValues: [] as string[],
  };
  for (const [flag, value] of flags) {
    if (flag === '--set') o.values.push(value);
    else if (flag === '--set-string') o.stringValues.push(value);
    else if (flag === '--set-json') o.jsonValues.push(value);
    else if (flag === '--set-literal') o.literalValues.push(value);
    else throw new Error(flag);
  }
  return o;
}

describe('--set family matches Helm v4.1.4 (recorded oracle)', () => {
  it.each(SET_CASES.map((c) => [c.flags.map((f) => f.join(' ')).join(' '), c] as const))('%s', (_name, c) => {
    const run = () => mergeUserValues(optionsOf(c.flags));
    if (c.error !== undefined) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ChartproofError);
      expect((err as ChartproofError).code).toBe('VALUES_INVALID');
      expect(`Error: ${(err as Error).message}`).toBe(c.error);
      return;
    }
    const v = run();
    if (c.json === null) {
      const list = v.list as unknown[];
      expect(list).toHaveLength(65537);
      expect(list[65536]).toBe('x');
      expect(list.slice(0, 65536).every((x) => x === null)).toBe(true);
      return;
    }
    expect(goJson(v)).toBe(c.json);
    expect(typesLine(v)).toBe(c.types ?? '');
  });
});

describe('typedVal', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['False', false],
    ['null', null],
    ['0', 0n],
    ['-0', 0n],
    ['+7', 7n],
    ['9223372036854775807', 9223372036854775807n],
    ['9223372036854775808', '9223372036854775808'],
    ['-9223372036854775808', -9223372036854775808n],
    ['007', '007'],
    ['1.5', '1.5'],
    ['1e3', '1e3'],
    ['', ''],
    ['truex', 'truex'],
  ] as const)('%s', (input, want) => {
    expect(typedVal(input, false)).toStrictEqual(want);
    expect(typedVal(input, true)).toBe(input);
  });
});

describe('parseSet (Helm parser_test cases)', () => {
  it('string parse keeps everything a string', () => {
    expect(
      goJson(parseSet('set-string', 'long_int_string=1234567890,boolean=true,is_null=null,zero=0')),
    ).toBe('{"boolean":"true","is_null":"null","long_int_string":"1234567890","zero":"0"}');
  });
  it('nested lists in order and out of order', () => {
    const dest = parseSet('set', 'listOuter[0][0].type=listValue');
    parseSetInto('set', 'listOuter[0][0].status=alive', dest);
    expect(goJson(dest)).toBe('{"listOuter":[[{"status":"alive","type":"listValue"}]]}');
    const d2 = parseSet('set', 'listOuter[0][1][0].type=listValue');
    parseSetInto('set', 'listOuter[0][0][1].status=alive', d2);
    expect(goJson(d2)).toBe('{"listOuter":[[[null,{"status":"alive"}],[{"type":"listValue"}]]]}');
  });
  it('ParseInto overwrites existing keys and keeps others', () => {
    const dest: Values = { outer: { inner1: 'overwrite', inner2: 'value2' } } as unknown as Values;
    parseSetInto('set', 'outer.inner1=value1,outer.inner3=value3,outer.inner4=4', dest);
    expect(goJson(dest)).toBe('{"outer":{"inner1":"value1","inner2":"value2","inner3":"value3","inner4":4}}');
    expect((dest.outer as Values).inner4).toBe(4n);
  });
  it('__proto__ is an ordinary key', () => {
    const v = parseSet('set', '__proto__.polluted=1,constructor=2');
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(goJson(v)).toBe('{"__proto__":{"polluted":1},"constructor":2}');
  });
  it('set-file reads every value through the injected reader (lists too)', () => {
    const seen: string[] = [];
    const read = (p: string) => {
      seen.push(p);
      if (p === 'missing') throw new Error(`open ${p}: no such file or directory`);
      return `content of ${p}`;
    };
    expect(goJson(parseSet('set-file', 'a=x.txt,b={y,z}', read))).toBe(
      '{"a":"content of x.txt","b":["content of y","content of z"]}',
    );
    expect(seen).toEqual(['x.txt', 'y', 'z']);
    expect(() => mergeUserValues({ fileValues: ['a=missing'], readFile: read })).toThrow(
      'failed parsing --set-file data: open missing: no such file or directory',
    );
  });
  it('a file reader is required for --set-file', () => {
    expect(() => parseSet('set-file', 'a=b')).toThrow(StrvalsError);
  });
  it('list index limit is 65536 and negative indexes are rejected', () => {
    expect(() => parseSet('set', 'a[65537]=x')).toThrow(
      'index of 65537 is greater than maximum supported index of 65536',
    );
    expect(() => parseSet('set', 'a[-1]=x')).toThrow('negative -1 index not allowed');
    expect(() => parseSet('set', 'a[0][-2]=x')).toThrow('negative -2 index not allowed');
  });
  it('nesting deeper than 30 dots fails', () => {
    const deep = `${Array.from({ length: 32 }, (_, i) => `k${i}`).join('.')}=1`;
    expect(() => parseSet('set', deep)).toThrow(
      'value name nested level is greater than maximum supported nested level of 30',
    );
  });
  it('set-json decodes JSON values and skips blanks', () => {
    const v = parseSet('set-json', 'a= {"b": [1, {"c": null}]} , d=,e="x,y"');
    // Helm keeps the blank before a key (`, d=` → " d").
    expect(goJson(v)).toBe('{" d":null,"a":{"b":[1,{"c":null}]},"e":"x,y"}');
    expect(typeof (((v.a as Values).b as unknown[])[0] as unknown)).toBe('number');
  });
});

describe('MergeValues order', () => {
  it('files, then --set-json, --set, --set-string, --set-file, --set-literal', () => {
    const v = mergeUserValues({
      valueFiles: [
        { name: 'a.yaml', text: 'x: 1\nm: {a: 1, b: 2}\n' },
        { name: 'b.yaml', text: 'm: {b: 3}\n' },
      ],
      literalValues: ['x=literal'],
      fileValues: ['f=p'],
      stringValues: ['x=string,f=string'],
      values: ['x=set,j=set'],
      jsonValues: ['j="json"', 'x=5'],
      readFile: () => 'file',
    });
    expect(goJson(v)).toBe('{"f":"file","j":"set","m":{"a":1,"b":3},"x":"literal"}');
  });
  it('values file errors name the file', () => {
    expect(() => mergeUserValues({ valueFiles: [{ name: 'bad.yaml', text: '- a\n' }] })).toThrow(
      'failed to parse bad.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}',
    );
  });
});
