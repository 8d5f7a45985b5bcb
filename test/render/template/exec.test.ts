import { describe, expect, it } from 'vitest';
import {
  type FuncMap,
  GO_METHODS,
  type GoValue,
  GoStruct,
  goFunc,
  MISSING,
  parseTemplates,
  TemplateError,
  TemplateSet,
  withMethods,
} from '../../../src/render/template/index.js';

// Cases ported from Go's text/template exec_test.go (execTests), with Go's expected
// outputs. The test value mirrors the `tVal` struct: struct fields become GoStruct
// fields, []int becomes bigint arrays, map[string]int plain objects.

const U = new GoStruct(
  '*template.U',
  [['V', 'v']],
  [['TrueFalse', goFunc(['bool'], ([b]) => (b ? 'true' : ''))]],
);

function tVal(): GoStruct {
  const self: GoStruct = new GoStruct(
    '*template.T',
    [
      ['True', true],
      ['I', 17n],
      ['U16', 16n],
      ['X', 'x'],
      ['FloatZero', 0],
      ['U', U],
      ['SI', [3n, 4n, 5n]],
      ['SIEmpty', []],
      ['SB', [true, false]],
      ['MSI', { one: 1n, two: 2n, three: 3n }],
      ['MSIone', { one: 1n }],
      ['MSIEmpty', {}],
      [
        'SMSI',
        [
          { one: 1n, two: 2n },
          { eleven: 11n, twelve: 12n },
        ],
      ],
      ['MXI', { one: 1n }],
      ['Empty0', null],
      ['Empty3', [7n, 8n]],
      ['Empty4', new GoStruct('*template.U', [['V', 'UinEmpty']])],
      ['PSI', [21n, 22n, 23n]],
      ['Str', new GoStruct('*bytes.Buffer', [], [], () => 'foozle')],
      ['BinaryFunc', goFunc(['string', 'string'], ([a, b]) => `[${String(a)}=${String(b)}]`)],
      ['VariadicFunc', goFunc([], (a) => `<${a.join('+')}>`, 'string')],
      ['VariadicFuncInt', goFunc(['int'], ([n, ...s]) => `${String(n)}=<${s.join('+')}>`, 'string')],
      ['ErrFunc', goFunc([], () => 'bla')],
    ],
    [
      ['Method0', goFunc([], () => 'M0')],
      ['Method1', goFunc(['int'], ([a]) => a!)],
      ['Method2', goFunc(['int', 'string'], ([a, b]) => `Method2: ${String(a)} ${String(b)}`)],
      ['Method3', goFunc(['any'], ([a]) => `Method3: ${a === null ? '<nil>' : String(a)}`)],
      ['MAdd', goFunc(['int', 'slice'], ([a, s]) => (s as bigint[]).map((x) => x + (a as bigint)))],
      [
        'MyError',
        goFunc(['bool'], ([e]) => {
          if (e) throw new Error('my error');
          return false;
        }),
      ],
      ['GetU', goFunc([], () => U)],
      ['Copy', goFunc([], () => self)],
    ],
  );
  return self;
}

const FUNCS: FuncMap = {
  zeroArgs: goFunc([], () => 'zeroArgs'),
  oneArg: goFunc(['string'], ([a]) => `oneArg=${String(a)}`),
  twoArgs: goFunc(['string', 'string'], ([a, b]) => `twoArgs=${String(a)}${String(b)}`),
  dddArg: goFunc(['int'], ([a, ...b]) => `${String(a)} [${b.join(' ')}]\n`, 'string'),
  echo: goFunc(['any'], ([a]) => a!),
  add: goFunc(['int', 'int'], ([a, b]) => (a as bigint) + (b as bigint)),
  makemap: goFunc(
    [],
    (a) => {
      const m: Record<string, GoValue> = {};
      for (let i = 0; i + 1 < a.length; i += 2) m[a[i] as string] = a[i + 1]!;
      return m;
    },
    'string',
  ),
  mapOfThree: goFunc([], () => ({ three: 3n })),
  returnInt: goFunc([], () => 7n),
  valueString: goFunc(['string'], () => 'value is ignored'),
  stringer: goFunc(['any'], ([s]) => (s instanceof GoStruct && s.stringer ? s.stringer() : '?')),
};

function run(text: string, data: GoValue = tVal()): string {
  return parseTemplates([{ name: 'test', text }], { funcs: FUNCS }).execute('test', data);
}

// [name, template, expected output or null for "must fail"]
const EXEC_TESTS: ReadonlyArray<readonly [string, string, string | null, GoValue?]> = [
  ['empty', '', ''],
  ['text', 'some text', 'some text'],
  ['nil action', '{{nil}}', null],
  ['.X', '-{{.X}}-', '-x-'],
  ['.U.V', '-{{.U.V}}-', '-v-'],
  ['.unexported', '{{.unexported}}', null],
  ['map .one', '{{.MSI.one}}', '1'],
  ['map .two', '{{.MSI.two}}', '2'],
  ['map .NO', '{{.MSI.NO}}', '<no value>'],
  ['map .one interface', '{{.MXI.one}}', '1'],
  ['map .WRONG args', '{{.MSI.one 1}}', null],
  ['dot int', '<{{.}}>', '<13>', 13n],
  ['dot float', '<{{.}}>', '<15.1>', 15.1],
  ['dot bool', '<{{.}}>', '<true>', true],
  ['dot string', '<{{.}}>', '<hello>', 'hello'],
  ['dot slice', '<{{.}}>', '<[-1 -2 -3]>', [-1n, -2n, -3n]],
  ['dot map', '<{{.}}>', '<map[two:22]>', { two: 22n }],
  ['$ int', '{{$}}', '123', 123n],
  ['$.I', '{{$.I}}', '17'],
  ['$.U.V', '{{$.U.V}}', 'v'],
  ['declare in action', '{{$x := $.U.V}}{{$x}}', 'v'],
  ['simple assignment', '{{$x := 2}}{{$x = 3}}{{$x}}', '3'],
  ['nested assignment', '{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}', '3'],
  [
    'nested assignment changes the last declaration',
    '{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}',
    '1',
  ],
  ['V{6666}.String()', '-{{.Str}}-', '-foozle-'],
  ['.Method0', '-{{.Method0}}-', '-M0-'],
  ['.Method1(1234)', '-{{.Method1 1234}}-', '-1234-'],
  ['.Method1(.I)', '-{{.Method1 .I}}-', '-17-'],
  ['.Method2(3, .X)', '-{{.Method2 3 .X}}-', '-Method2: 3 x-'],
  ['.Method2(.U16, `str`)', '-{{.Method2 .U16 `str`}}-', '-Method2: 16 str-'],
  ['.Method2(.U16, $x)', '{{if $x := .X}}-{{.Method2 .U16 $x}}{{end}}-', '-Method2: 16 x-'],
  ['.Method3(nil constant)', '-{{.Method3 nil}}-', '-Method3: <nil>-'],
  ['.Method3(nil value)', '-{{.Method3 .MXI.unset}}-', '-Method3: <nil>-'],
  ['method on var', '{{if $x := .}}-{{$x.Method2 .U16 $x.X}}{{end}}-', '-Method2: 16 x-'],
  [
    'method on chained var',
    '{{range .MSIone}}{{if $.U.TrueFalse $.True}}{{$.U.TrueFalse $.True}}{{else}}WRONG{{end}}{{end}}',
    'true',
  ],
  [
    'chained method',
    '{{range .MSIone}}{{if $.GetU.TrueFalse $.True}}{{$.U.TrueFalse $.True}}{{else}}WRONG{{end}}{{end}}',
    'true',
  ],
  [
    'chained method on variable',
    '{{with $x := .}}{{with .SI}}{{$.GetU.TrueFalse $.True}}{{end}}{{end}}',
    'true',
  ],
  ['.BinaryFunc', '{{call .BinaryFunc `1` `2`}}', '[1=2]'],
  ['.VariadicFunc0', '{{call .VariadicFunc}}', '<>'],
  ['.VariadicFunc2', '{{call .VariadicFunc `he` `llo`}}', '<he+llo>'],
  ['.VariadicFuncInt', '{{call .VariadicFuncInt 33 `he` `llo`}}', '33=<he+llo>'],
  ['if .BinaryFunc call', '{{ if .BinaryFunc}}{{call .BinaryFunc `1` `2`}}{{end}}', '[1=2]'],
  ['if not .BinaryFunc call', '{{ if not .BinaryFunc}}{{call .BinaryFunc `1` `2`}}{{else}}No{{end}}', 'No'],
  ['Interface Call', '{{stringer .Str}}', 'foozle'],
  ['.ErrFunc', '{{call .ErrFunc}}', 'bla'],
  ['call nil', '{{call nil}}', null],
  ['.BinaryFuncTooFew', '{{call .BinaryFunc `1`}}', null],
  ['.BinaryFuncTooMany', '{{call .BinaryFunc `1` `2` `3`}}', null],
  ['pipeline', '-{{.Method0 | .Method2 .U16}}-', '-Method2: 16 M0-'],
  ['pipeline func', '-{{call .VariadicFunc `llo` | call .VariadicFunc `he` }}-', '-<he+<llo>>-'],
  ['parens in pipeline', '{{printf `%d %d %d` (1) (2 | add 3) (add 4 (add 5 6))}}', '1 5 15'],
  ['parens: $ in paren', '{{($).X}}', 'x'],
  ['parens: $.GetU in paren', '{{($.GetU).V}}', 'v'],
  ['parens: $ in paren in pipe', '{{($ | echo).X}}', 'x'],
  ['parens: spaces and args', '{{(makemap "up" "down" "left" "right").left}}', 'right'],
  ['if true', '{{if true}}TRUE{{end}}', 'TRUE'],
  ['if false', '{{if false}}TRUE{{else}}FALSE{{end}}', 'FALSE'],
  ['if nil', '{{if nil}}TRUE{{end}}', null],
  ['if 1', '{{if 1}}NON-ZERO{{else}}ZERO{{end}}', 'NON-ZERO'],
  ['if 0', '{{if 0}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if 1.5', '{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}', 'NON-ZERO'],
  ['if 0.0', '{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if emptystring', '{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if string', '{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if emptyslice', '{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if slice', '{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if emptymap', '{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}', 'EMPTY'],
  ['if map', '{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}', 'NON-EMPTY'],
  ['if map unset', '{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}', 'ZERO'],
  ['if map not unset', '{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}', 'ZERO'],
  ['if $x with $y int', '{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}', 'true,17'],
  ['if $x with $x int', '{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}', '17,true'],
  ['if else if', '{{if false}}FALSE{{else if true}}TRUE{{end}}', 'TRUE'],
  ['if else chain', '{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}', '3'],
  ['print', '{{print "hello, print"}}', 'hello, print'],
  ['print 123', '{{print 1 2 3}}', '1 2 3'],
  ['print nil', '{{print nil}}', '<nil>'],
  ['println', '{{println 1 2 3}}', '1 2 3\n'],
  ['printf int', '{{printf "%04x" 127}}', '007f'],
  ['printf float', '{{printf "%g" 3.5}}', '3.5'],
  ['printf string', '{{printf "%s" "hello"}}', 'hello'],
  ['printf function', '{{printf "%#q" zeroArgs}}', '`zeroArgs`'],
  ['printf field', '{{printf "%s" .U.V}}', 'v'],
  ['printf method', '{{printf "%s" .Method0}}', 'M0'],
  ['printf dot', '{{with .I}}{{printf "%d" .}}{{end}}', '17'],
  ['printf var', '{{with $x := .I}}{{printf "%d" $x}}{{end}}', '17'],
  [
    'html',
    '{{html "<script>alert(\\"XSS\\");</script>"}}',
    '&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;',
  ],
  [
    'html pipeline',
    '{{printf "<script>alert(\\"XSS\\");</script>" | html}}',
    '&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;',
  ],
  ['js', '{{js .}}', "It\\'d be nice.", "It'd be nice."],
  ['urlquery', '{{"http://www.example.org/"|urlquery}}', 'http%3A%2F%2Fwww.example.org%2F'],
  ['not', '{{not true}} {{not false}}', 'false true'],
  ['and', '{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}', 'false 0 0 1'],
  ['or', '{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}', '0 1 true 1'],
  ['boolean if', '{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}', 'TRUE'],
  ['boolean if not', '{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}', 'FALSE'],
  ['slice[0]', '{{index .SI 0}}', '3'],
  ['slice[1]', '{{index .SI 1}}', '4'],
  ['slice[HUGE]', '{{index .SI 10}}', null],
  ['slice[WRONG]', '{{index .SI `hello`}}', null],
  ['slice[nil]', '{{index .SI nil}}', null],
  ['map[one]', '{{index .MSI `one`}}', '1'],
  ['map[NO]', '{{index .MSI `XXX`}}', '<no value>'],
  ['map[nil]', '{{index .MSI nil}}', null],
  ['map[WRONG]', '{{index .MSI 10}}', null],
  ['double index', '{{index .SMSI 1 `eleven`}}', '11'],
  ['nil[1]', '{{index nil 1}}', null],
  ['len slice', '{{len .SI}}', '3'],
  ['len map', '{{len .MSI }}', '3'],
  ['len of int', '{{len 3}}', null],
  ['len of nothing', '{{len .Empty0}}', null],
  ['with true', '{{with true}}{{.}}{{end}}', 'true'],
  ['with false', '{{with false}}{{.}}{{else}}FALSE{{end}}', 'FALSE'],
  ['with 1', '{{with 1}}{{.}}{{else}}ZERO{{end}}', '1'],
  ['with 0', '{{with 0}}{{.}}{{else}}ZERO{{end}}', 'ZERO'],
  ['with 1.5', '{{with 1.5}}{{.}}{{else}}ZERO{{end}}', '1.5'],
  ['with 0.0', '{{with .FloatZero}}{{.}}{{else}}ZERO{{end}}', 'ZERO'],
  ['with emptystring', '{{with ``}}{{.}}{{else}}EMPTY{{end}}', 'EMPTY'],
  ['with string', '{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}', 'notempty'],
  ['with slice', '{{with .SI}}{{.}}{{else}}EMPTY{{end}}', '[3 4 5]'],
  ['with map', '{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}', 'map[one:1]'],
  ['with empty interface, struct field', '{{with .Empty4}}{{.V}}{{end}}', 'UinEmpty'],
  ['with $x int', '{{with $x := .I}}{{$x}}{{end}}', '17'],
  ['with $x struct.U.V', '{{with $x := $}}{{$x.U.V}}{{end}}', 'v'],
  ['with variable and action', '{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}', 'v'],
  ['with on typed nil interface value', '{{with .Empty0}}X{{else}}Y{{end}}', 'Y'],
  ['with else with', '{{with 0}}{{.}}{{else with true}}{{.}}{{end}}', 'true'],
  [
    'with else with chain',
    '{{with 0}}{{.}}{{else with false}}{{.}}{{else with `notempty`}}{{.}}{{end}}',
    'notempty',
  ],
  ['range []int', '{{range .SI}}-{{.}}-{{end}}', '-3--4--5-'],
  ['range empty no else', '{{range .SIEmpty}}-{{.}}-{{end}}', ''],
  ['range []int else', '{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}', '-3--4--5-'],
  ['range empty else', '{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}', 'EMPTY'],
  ['range []int break else', '{{range .SI}}-{{.}}-{{break}}NOTREACHED{{else}}EMPTY{{end}}', '-3-'],
  [
    'range []int continue else',
    '{{range .SI}}-{{.}}-{{continue}}NOTREACHED{{else}}EMPTY{{end}}',
    '-3--4--5-',
  ],
  ['range []bool', '{{range .SB}}-{{.}}-{{end}}', '-true--false-'],
  ['range []int method', '{{range .SI | .MAdd .I}}-{{.}}-{{end}}', '-20--21--22-'],
  ['range map', '{{range .MSI}}-{{.}}-{{end}}', '-1--3--2-'],
  ['range empty map no else', '{{range .MSIEmpty}}-{{.}}-{{end}}', ''],
  ['range map else', '{{range .MSI}}-{{.}}-{{else}}EMPTY{{end}}', '-1--3--2-'],
  ['range empty map else', '{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}', 'EMPTY'],
  ['range empty interface', '{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}', '-7--8-'],
  ['range empty nil', '{{range .Empty0}}-{{.}}-{{end}}', ''],
  ['range $x SI', '{{range $x := .SI}}<{{$x}}>{{end}}', '<3><4><5>'],
  ['range $x $y SI', '{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}', '<0=3><1=4><2=5>'],
  ['range $x MSIone', '{{range $x := .MSIone}}<{{$x}}>{{end}}', '<1>'],
  ['range $x $y MSIone', '{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}', '<one=1>'],
  ['range $x PSI', '{{range $x := .PSI}}<{{$x}}>{{end}}', '<21><22><23>'],
  ['declare in range', '{{range $x := .PSI}}<{{$foo:=$x}}{{$x}}>{{end}}', '<21><22><23>'],
  ['range int', '{{range $i := 5}}{{$i}}{{end}}', '01234'],
  ['range int dot', '{{range 3}}{{.}}{{end}}', '012'],
  ['range $i, $x := int', '{{range $i, $x := 3}}{{end}}', null],
  ['or as if true', '{{or .SI "slice is empty"}}', '[3 4 5]'],
  ['or as if false', '{{or .SIEmpty "slice is empty"}}', 'slice is empty'],
  ['error method, error', '{{.MyError true}}', null],
  ['error method, no error', '{{.MyError false}}', 'false'],
  ['bug0', '{{range .MSIone}}{{if $.Method1 .}}X{{end}}{{end}}', 'X'],
  ['bug3', '{{with $}}{{.Method0}}{{end}}', 'M0'],
  ['bug4', '{{if .Empty0}}non-nil{{else}}nil{{end}}', 'nil'],
  ['bug5', '{{.Str}}', 'foozle'],
  ['bug7a', '{{3 2}}', null],
  ['bug7b', '{{$x := 1}}{{$x 2}}', null],
  ['bug7c', '{{$x := 1}}{{3 | $x}}', null],
  ['bug8a', '{{3|oneArg}}', null],
  ['bug8b', '{{4|dddArg 3}}', null],
  ['bug9', '{{.cause}}', 'neglect', { cause: 'neglect' }],
  ['bug10', '{{mapOfThree.three}}-{{(mapOfThree).three}}', '3-3', 0n],
  ['bug12xe', '{{printf `%T` 0xef}}', 'int'],
  ['bug12xE', '{{printf `%T` 0xEE}}', 'int'],
  ['bug12Xe', '{{printf `%T` 0Xef}}', 'int'],
  ['bug12XE', '{{printf `%T` 0XEE}}', 'int'],
  ['bug13', '{{print (.Copy).I}}', '17'],
  ['bug14a', '{{(nil).True}}', null],
  ['bug14b', '{{$x := nil}}{{$x.anything}}', null],
  ['bug14c', '{{$x := (1.0)}}{{$y := ("hello")}}{{$x.anything}}{{$y.true}}', null],
  ['bug15', '{{valueString returnInt}}', null],
  ['bug16a', '{{true|printf}}', null],
  ['bug16b', '{{1|printf}}', null],
  ['bug16c', '{{1.1|printf}}', null],
  ['bug16d', "{{'x'|printf}}", null],
  ['bug16f', '{{true|twoArgs "xxx"}}', null],
  ['bug16g', '{{"aaa" |twoArgs "bbb"}}', 'twoArgs=bbbaaa'],
  ['bug16h', '{{1|oneArg}}', null],
  ['bug16i', '{{"aaa"|oneArg}}', 'oneArg=aaa'],
  ['bug16k', '{{"aaa"|printf }}', 'aaa'],
];

describe('Go execTests', () => {
  const cases = EXEC_TESTS.map(([name, text, expected, data]) => ({ name, text, expected, data }));
  it.each(cases)('$name', ({ text, expected, data }) => {
    const d = data === undefined ? tVal() : (data as GoValue);
    if (expected === null) {
      expect(() => run(text, d)).toThrow(TemplateError);
    } else {
      expect(run(text, d)).toBe(expected);
    }
  });
});

describe('templates, defines and variables', () => {
  it('invokes defines with their own $ and no inherited variables', () => {
    const text = '{{define "a"}}[{{.}}|{{$}}]{{end}}{{$x := 1}}{{template "a" "arg"}}{{template "a"}}';
    expect(run(text, 'dot')).toBe('[arg|arg][<no value>|<no value>]');
    expect(() => run('{{define "a"}}{{$x}}{{end}}{{$x := 1}}{{template "a"}}')).toThrow(
      /undefined variable "\$x"/,
    );
  });

  it('block defines and runs a template', () => {
    expect(run('{{block "b" .X}}<{{.}}>{{end}}')).toBe('<x>');
  });

  it('later definitions replace earlier ones across files, empty ones do not', () => {
    const set = parseTemplates([
      { name: 'lib1.tpl', text: '{{define "name"}}first{{end}}' },
      { name: 'lib2.tpl', text: '{{define "name"}}second{{end}}{{define "other"}}o{{end}}' },
      { name: 'lib3.tpl', text: '{{define "other"}}  {{end}}' },
      { name: 'main', text: '{{template "name"}}-{{template "other"}}' },
    ]);
    expect(set.execute('main', null)).toBe('second-o');
    expect(set.names().sort()).toEqual(['lib1.tpl', 'lib2.tpl', 'lib3.tpl', 'main', 'name', 'other']);
  });

  it('two definitions of one name in one text fail like Go', () => {
    expect(() =>
      parseTemplates([{ name: 'f', text: '{{define "a"}}x{{end}}{{define "a"}}y{{end}}' }]),
    ).toThrow('template: f:1: template: multiple definition of template "a"');
  });

  it('errors inside a define name the define and the file it came from', () => {
    const set = parseTemplates(
      [
        { name: 'lib.tpl', text: '{{define "x"}}\n  {{ .a.b }}{{end}}' },
        { name: 'main', text: '{{template "x" .}}' },
      ],
      { missingKey: 'zero' },
    );
    expect(() => set.execute('main', { a: null })).toThrow(
      'template: lib.tpl:2:7: executing "x" at <.a.b>: nil pointer evaluating interface {}.b',
    );
  });

  it('executing an unknown template names the set', () => {
    const set = new TemplateSet({ name: 'gotpl' });
    expect(() => set.execute('nope', null)).toThrow(
      'template: no template "nope" associated with template "gotpl"',
    );
  });

  it('missingkey options', () => {
    const t = (mk: 'default' | 'zero' | 'error', text: string) =>
      parseTemplates([{ name: 't', text }], { missingKey: mk }).execute('t', { a: {} });
    expect(t('default', '{{.a.b}}|{{.a.b.c}}')).toBe('<no value>|<no value>');
    expect(t('zero', '{{.a.b}}')).toBe('<no value>');
    expect(() => t('zero', '{{.a.b.c}}')).toThrow('nil pointer evaluating interface {}.c');
    expect(() => t('error', '{{.a.b}}')).toThrow(
      'template: t:1:4: executing "t" at <.a.b>: map has no entry for key "b"',
    );
  });

  it('redefinition and empty templates (Go TestRedefinition, TestEmptyTemplate)', () => {
    const cases: Array<[string[], string, string]> = [
      [['x', 'y'], '', 'y'],
      [[''], 'once', ''],
      [['', ''], 'twice', ''],
      [['{{.}}', '{{.}}'], 'twice', 'twice'],
      [['{{/* a comment */}}', '{{/* a comment */}}'], 'comment', ''],
      [['{{.}}', ''], 'twice', 'twice'],
    ];
    for (const [defs, name, want] of cases) {
      const set = new TemplateSet();
      for (const d of defs) set.parse(name, d);
      expect(set.execute(name, name)).toBe(want);
    }
    const set = new TemplateSet().parse('tmpl1', '{{define "test"}}foo{{end}}');
    set.parse('tmpl1', '{{define "test"}}bar{{end}}').parse('tmpl2', '{{define "test"}}baz{{end}}');
    expect(set.execute('test', null)).toBe('baz');
  });

  it('missing keys with nil data (Go TestMissingMapKey)', () => {
    const t = (mk: 'default' | 'error', data: GoValue) =>
      parseTemplates([{ name: 't1', text: '{{.x}} {{.y}}' }], { missingKey: mk }).execute('t1', data);
    expect(t('default', { x: 99n })).toBe('99 <no value>');
    expect(() => t('error', { x: 99n })).toThrow(
      'template: t1:1:9: executing "t1" at <.y>: map has no entry for key "y"',
    );
    expect(() => t('error', null)).toThrow(
      'template: t1:1:2: executing "t1" at <.x>: nil data; no entry for key "x"',
    );
    expect(t('default', null)).toBe('<no value> <no value>');
  });

  it('comments and trim markers', () => {
    expect(run('a {{- /* comment */ -}} b\n{{- " c" }}\n\n {{- 1 }}')).toBe('ab c1');
    expect(run('{{-3}}')).toBe('-3');
    expect(run('{{3 -}}\n\t x')).toBe('3x');
  });

  it('__proto__ is an ordinary map key', () => {
    const m = JSON.parse('{"__proto__": "p", "constructor": "c"}');
    expect(run('{{.__proto__}} {{.constructor}} {{.toString}}', m)).toBe('p c <no value>');
  });

  it('nil data is the invalid value', () => {
    expect(run('{{.}}|{{$}}', null)).toBe('<no value>|<no value>');
    expect(run('{{.x}}', MISSING)).toBe('<no value>');
  });
});

describe('functions', () => {
  it('converts literal arguments to typed parameters and reports Go errors', () => {
    const funcs: FuncMap = {
      indent: goFunc(['int', 'string'], ([n, s]) => ' '.repeat(Number(n)) + String(s)),
      need: goFunc(['float64'], ([f]) => f!),
    };
    const r = (text: string, data: GoValue = { n: 2, s: 'x' }) =>
      parseTemplates([{ name: 't', text }], { funcs, missingKey: 'zero' }).execute('t', data);
    expect(r('{{indent 2 "x"}}')).toBe('  x');
    expect(r('{{"y" | indent 1}}')).toBe(' y');
    expect(r('{{need 3}}')).toBe('3');
    expect(() => r('{{indent 1.5 "x"}}')).toThrow('expected integer; found 1.5');
    expect(() => r('{{indent .n "x"}}')).toThrow('wrong type for value; expected int; got float64');
    expect(() => r('{{indent 2 .missing}}')).toThrow(
      'wrong type for value; expected string; got interface {}',
    );
    expect(() => r('{{.missing | indent 2}}')).toThrow('invalid value; expected string');
    expect(() => r('{{indent 2}}')).toThrow('wrong number of args for indent: want 2 got 1');
  });

  it('wraps thrown errors as "error calling"', () => {
    const funcs: FuncMap = {
      boom: goFunc([], () => {
        throw new Error('kaput');
      }),
    };
    const set = parseTemplates([{ name: 't', text: 'x{{ boom }}' }], { funcs });
    expect(() => set.execute('t', null)).toThrow(
      'template: t:1:4: executing "t" at <boom>: error calling boom: kaput',
    );
  });

  it('lets functions re-enter the executor (include-style) and see the current template', () => {
    const funcs: FuncMap = {
      include: goFunc(['string', 'any'], ([name, data], ctx) => ctx.executeTemplate(name as string, data!)),
      whoami: goFunc([], (_a, ctx) => ctx.templateName),
    };
    const set = parseTemplates(
      [
        { name: 'h.tpl', text: '{{define "greet"}}hi {{.}} from {{whoami}}{{end}}' },
        { name: 'main', text: '{{include "greet" "bob" | printf "%q"}} {{whoami}}' },
      ],
      { funcs },
    );
    expect(set.execute('main', null)).toBe('"hi bob from greet" main');
    const bad = parseTemplates([{ name: 'main', text: '{{include "nope" .}}' }], { funcs, name: 'gotpl' });
    expect(() => bad.execute('main', null)).toThrow(
      'template: main:1:2: executing "main" at <include "nope" .>: error calling include: template: no template "nope" associated with template "gotpl"',
    );
  });

  it('supports tpl-style cloning and parsing at run time', () => {
    const funcs: FuncMap = {
      tpl: goFunc(['string', 'any'], ([text, data], ctx) => {
        const clone = ctx.templates.clone();
        clone.parse(ctx.templateName, text as string);
        return ctx.executeTemplate(ctx.templateName, data!, clone);
      }),
    };
    const set = parseTemplates(
      [{ name: 'main', text: '{{ tpl "{{ .x }}-{{ define \\"d\\" }}D{{ end }}{{ template \\"d\\" }}" . }}' }],
      {
        funcs,
      },
    );
    expect(set.execute('main', { x: 'X' })).toBe('X-D');
    expect(set.has('d')).toBe(false);
  });

  it('calls methods of maps and slices with methods (Helm .Files, .Capabilities.APIVersions)', () => {
    const files = withMethods({ 'a.txt': new TextEncoder().encode('A') }, 'engine.files', {
      Get: goFunc(['string'], ([n]) => (n === 'a.txt' ? 'A' : '')),
    });
    const versions = ['v1', 'apps/v1'];
    Object.defineProperty(versions, GO_METHODS, {
      value: {
        typeName: 'common.VersionSet',
        methods: { Has: goFunc(['string'], ([v]) => versions.includes(v as string)) },
      },
    });
    const data = { Files: files, APIVersions: versions };
    const r = (text: string) =>
      parseTemplates([{ name: 't', text }], { missingKey: 'zero' }).execute('t', data);
    expect(
      r('{{ .Files.Get "a.txt" }}|{{ .Files.Get "b" | len }}|{{ range $k, $v := .Files }}{{ $k }}{{ end }}'),
    ).toBe('A|0|a.txt');
    expect(r('{{ .APIVersions.Has "v1" }} {{ .APIVersions.Has "x" }} {{ len .APIVersions }}')).toBe(
      'true false 2',
    );
    expect(r('{{ printf "%T %T" .Files .APIVersions }}')).toBe('engine.files common.VersionSet');
    expect(() => r('{{ .Files.Nope 1 }}')).toThrow('Nope is not a method but has arguments');
  });

  it('rejects function names that are not identifiers', () => {
    expect(() => new TemplateSet({ funcs: { 'a-b': goFunc([], () => 1n) } })).toThrow(
      /not a valid identifier/,
    );
  });
});
