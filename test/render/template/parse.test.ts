import { describe, expect, it } from 'vitest';
import { isEmptyTree, nodeString } from '../../../src/render/template/ast.js';
import { Lexer, T } from '../../../src/render/template/lexer.js';
import { parseFile } from '../../../src/render/template/parser.js';
import { RenderLimitError, TemplateError } from '../../../src/render/template/index.js';

// Ported from Go's text/template/parse parse_test.go and lex_test.go; expected values
// are Go's (tree strings print text nodes with %q, as Go's tests do).

const FUNCS = new Set(['printf', 'contains']);
const has = (name: string) => FUNCS.has(name);

function parse(name: string, text: string) {
  return parseFile(name, text, has);
}

const PARSE_TESTS: ReadonlyArray<readonly [name: string, input: string, result: string | null]> = [
  ['empty', '', ''],
  ['comment', '{{/*\n\n\n*/}}', ''],
  ['spaces', ' \t\n', '" \\t\\n"'],
  ['text', 'some text', '"some text"'],
  ['emptyAction', '{{}}', null],
  ['field', '{{.X}}', '{{.X}}'],
  ['simple command', '{{printf}}', '{{printf}}'],
  ['$ invocation', '{{$}}', '{{$}}'],
  ['variable invocation', '{{with $x := 3}}{{$x 23}}{{end}}', '{{with $x := 3}}{{$x 23}}{{end}}'],
  ['variable with fields', '{{$.I}}', '{{$.I}}'],
  ['multi-word command', '{{printf `%d` 23}}', '{{printf `%d` 23}}'],
  ['pipeline', '{{.X|.Y}}', '{{.X | .Y}}'],
  ['pipeline with decl', '{{$x := .X|.Y}}', '{{$x := .X | .Y}}'],
  ['nested pipeline', '{{.X (.Y .Z) (.A | .B .C) (.E)}}', '{{.X (.Y .Z) (.A | .B .C) (.E)}}'],
  ['field applied to parentheses', '{{(.Y .Z).Field}}', '{{(.Y .Z).Field}}'],
  ['simple if', '{{if .X}}hello{{end}}', '{{if .X}}"hello"{{end}}'],
  ['if with else', '{{if .X}}true{{else}}false{{end}}', '{{if .X}}"true"{{else}}"false"{{end}}'],
  [
    'if with else if',
    '{{if .X}}true{{else if .Y}}false{{end}}',
    '{{if .X}}"true"{{else}}{{if .Y}}"false"{{end}}{{end}}',
  ],
  [
    'if else chain',
    '+{{if .X}}X{{else if .Y}}Y{{else if .Z}}Z{{end}}+',
    '"+"{{if .X}}"X"{{else}}{{if .Y}}"Y"{{else}}{{if .Z}}"Z"{{end}}{{end}}{{end}}"+"',
  ],
  ['simple range', '{{range .X}}hello{{end}}', '{{range .X}}"hello"{{end}}'],
  ['chained field range', '{{range .X.Y.Z}}hello{{end}}', '{{range .X.Y.Z}}"hello"{{end}}'],
  [
    'nested range',
    '{{range .X}}hello{{range .Y}}goodbye{{end}}{{end}}',
    '{{range .X}}"hello"{{range .Y}}"goodbye"{{end}}{{end}}',
  ],
  ['range with else', '{{range .X}}true{{else}}false{{end}}', '{{range .X}}"true"{{else}}"false"{{end}}'],
  [
    'range over pipeline',
    '{{range .X|.M}}true{{else}}false{{end}}',
    '{{range .X | .M}}"true"{{else}}"false"{{end}}',
  ],
  ['range []int', '{{range .SI}}{{.}}{{end}}', '{{range .SI}}{{.}}{{end}}'],
  ['range 1 var', '{{range $x := .SI}}{{.}}{{end}}', '{{range $x := .SI}}{{.}}{{end}}'],
  ['range 2 vars', '{{range $x, $y := .SI}}{{.}}{{end}}', '{{range $x, $y := .SI}}{{.}}{{end}}'],
  ['range with break', '{{range .SI}}{{.}}{{break}}{{end}}', '{{range .SI}}{{.}}{{break}}{{end}}'],
  ['range with continue', '{{range .SI}}{{.}}{{continue}}{{end}}', '{{range .SI}}{{.}}{{continue}}{{end}}'],
  [
    'constants',
    "{{range .SI 1 -3.2i true false 'a' nil}}{{end}}",
    "{{range .SI 1 -3.2i true false 'a' nil}}{{end}}",
  ],
  ['template', '{{template `x`}}', '{{template "x"}}'],
  ['template with arg', '{{template `x` .Y}}', '{{template "x" .Y}}'],
  ['with', '{{with .X}}hello{{end}}', '{{with .X}}"hello"{{end}}'],
  ['with with else', '{{with .X}}hello{{else}}goodbye{{end}}', '{{with .X}}"hello"{{else}}"goodbye"{{end}}'],
  [
    'with with else with',
    '{{with .X}}hello{{else with .Y}}goodbye{{end}}',
    '{{with .X}}"hello"{{else}}{{with .Y}}"goodbye"{{end}}{{end}}',
  ],
  [
    'with else chain',
    '{{with .X}}X{{else with .Y}}Y{{else with .Z}}Z{{end}}',
    '{{with .X}}"X"{{else}}{{with .Y}}"Y"{{else}}{{with .Z}}"Z"{{end}}{{end}}{{end}}',
  ],
  ['trim left', 'x \r\n\t{{- 3}}', '"x"{{3}}'],
  ['trim right', '{{3 -}}\n\n\ty', '{{3}}"y"'],
  ['trim left and right', 'x \r\n\t{{- 3 -}}\n\n\ty', '"x"{{3}}"y"'],
  ['trim with extra spaces', 'x\n{{-  3   -}}\ny', '"x"{{3}}"y"'],
  ['comment trim left', 'x \r\n\t{{- /* hi */}}', '"x"'],
  ['comment trim right', '{{/* hi */ -}}\n\n\ty', '"y"'],
  ['comment trim left and right', 'x \r\n\t{{- /* */ -}}\n\n\ty', '"x""y"'],
  ['block definition', '{{block "foo" .}}hello{{end}}', '{{template "foo" .}}'],
  ['newline in assignment', '{{ $x \n := \n 1 \n }}', '{{$x := 1}}'],
  ['newline in empty action', '{{\n}}', null],
  ['newline in pipeline', '{{\n"x"\n|\nprintf\n}}', '{{"x" | printf}}'],
  ['newline in comment', '{{/*\nhello\n*/}}', ''],
  ['newline in comment trimmed', '{{-\n/*\nhello\n*/\n-}}', ''],
  [
    'spaces around continue',
    '{{range .SI}}{{.}}{{ continue }}{{end}}',
    '{{range .SI}}{{.}}{{continue}}{{end}}',
  ],
  ['spaces around break', '{{range .SI}}{{.}}{{ break }}{{end}}', '{{range .SI}}{{.}}{{break}}{{end}}'],
  ['unclosed action', 'hello{{range', null],
  ['unmatched end', '{{end}}', null],
  ['unmatched else', '{{else}}', null],
  ['unmatched else after if', '{{if .X}}hello{{end}}{{else}}', null],
  ['multiple else', '{{if .X}}1{{else}}2{{else}}3{{end}}', null],
  ['missing end', 'hello{{range .x}}', null],
  ['missing end after else', 'hello{{range .x}}{{else}}', null],
  ['undefined function', 'hello{{undefined}}', null],
  ['undefined variable', '{{$x}}', null],
  ['variable undefined after end', '{{with $x := 4}}{{end}}{{$x}}', null],
  ['variable undefined in template', '{{template $v}}', null],
  ['declare with field', '{{with $x.Y := 4}}{{end}}', null],
  ['template with field ref', '{{template .X}}', null],
  ['invalid punctuation', '{{printf 3, 4}}', null],
  ['multidecl outside range', '{{with $v, $u := 3}}{{end}}', null],
  ['too many decls in range', '{{range $u, $v, $w := 3}}{{end}}', null],
  ['dot applied to parentheses', '{{printf (printf .).}}', null],
  ['adjacent args', '{{printf 3`x`}}', null],
  ['adjacent args with .', '{{printf `x`.}}', null],
  ['extra end after if', '{{if .X}}a{{else if .Y}}b{{end}}{{end}}', null],
  ['break outside range', '{{range .}}{{end}} {{break}}', null],
  ['continue outside range', '{{range .}}{{end}} {{continue}}', null],
  ['break in range else', '{{range .}}{{else}}{{break}}{{end}}', null],
  ['continue in range else', '{{range .}}{{else}}{{continue}}{{end}}', null],
  ['bug0a', '{{$x := 0}}{{$x}}', '{{$x := 0}}{{$x}}'],
  ['bug0b', '{{$x += 1}}{{$x}}', null],
  ['bug0c', '{{$x ! 2}}{{$x}}', null],
  ['bug0d', '{{$x % 3}}{{$x}}', null],
  ['bug0e', '{{range $x := $y := 3}}{{end}}', null],
  ['bug1a', '{{$x:=.}}{{$x!2}}', null],
  ['bug1b', '{{$x:=.}}{{$x+2}}', null],
  ['bug1c', '{{$x:=.}}{{$x +2}}', '{{$x := .}}{{$x +2}}'],
  ['bug2a', '{{range $x := 0}}{{$x}}{{end}}', '{{range $x := 0}}{{$x}}{{end}}'],
  ['bug2b', '{{range $x = 0}}{{$x}}{{end}}', '{{range $x = 0}}{{$x}}{{end}}'],
  ['dot after integer', '{{1.E}}', null],
  ['dot after float', '{{0.1.E}}', null],
  ['dot after boolean', '{{true.E}}', null],
  ['dot after char', "{{'a'.any}}", null],
  ['dot after string', '{{"hello".guys}}', null],
  ['dot after dot', '{{..E}}', null],
  ['dot after nil', '{{nil.E}}', null],
  ['wrong pipeline dot', '{{12|.}}', null],
  ['wrong pipeline number', '{{.|12|printf}}', null],
  ['wrong pipeline string', '{{.|printf|"error"}}', null],
  ['wrong pipeline char', "{{12|printf|'e'}}", null],
  ['wrong pipeline boolean', '{{.|true}}', null],
  ['wrong pipeline nil', "{{'c'|nil}}", null],
  ['empty pipeline', '{{printf "%d" ( ) }}', null],
  ['block definition without pipeline', '{{block "foo"}}hello{{end}}', null],
  ['paren nesting normal', '{{ (( 1 )) }}', '{{((1))}}'],
  ['paren nesting in pipeline', '{{ ((( 1 ))) | printf }}', '{{(((1))) | printf}}'],
  [
    'paren nesting with other constructs',
    '{{ if ((( true ))) }}YES{{ end }}',
    '{{if (((true)))}}"YES"{{end}}',
  ],
  [
    'control structure nesting',
    '{{if .X}}{{with .Y}}{{range .Z}}x{{end}}{{end}}{{end}}',
    '{{if .X}}{{with .Y}}{{range .Z}}"x"{{end}}{{end}}{{end}}',
  ],
];

describe('Go parseTests', () => {
  const cases = PARSE_TESTS.map(([name, input, result]) => ({ name, input, result }));
  it.each(cases)('$name', ({ name, input, result }) => {
    if (result === null) {
      expect(() => parse(name, input)).toThrow(TemplateError);
      return;
    }
    const tree = parse(name, input).get(name)!;
    expect(nodeString(tree.root, true)).toBe(result);
  });
});

// All failures; the string must appear in the error message (Go's errorTests).
const ERROR_TESTS: ReadonlyArray<readonly [string, string, string]> = [
  ['unclosed1', 'line1\n{{', 'unclosed1:2: unclosed action'],
  ['unclosed2', 'line1\n{{define `x`}}line2\n{{', 'unclosed2:3: unclosed action'],
  ['unclosed3', 'line1\n{{"x"\n"y"\n', 'unclosed3:4: unclosed action started at unclosed3:2'],
  ['unclosed4', '{{\n\n\n\n\n', 'unclosed4:6: unclosed action started at unclosed4:1'],
  ['var1', 'line1\n{{\nx\n}}', 'var1:3: function "x" not defined'],
  ['function', '{{foo}}', 'function "foo" not defined'],
  ['comment1', '{{/*}}', 'comment1:1: unclosed comment'],
  ['comment2', '{{/*\nhello\n}}', 'comment2:1: unclosed comment'],
  ['lparen', '{{.X (1 2 3}}', 'unclosed left paren'],
  ['rparen', '{{.X 1 2 3 ) }}', 'unexpected right paren'],
  ['rparen2', '{{(.X 1 2 3', 'unclosed action'],
  ['space', '{{`x`3}}', 'in operand'],
  ['idchar', '{{a#}}', "'#'"],
  ['charconst', "{{'a}}", 'unterminated character constant'],
  ['stringconst', '{{"a}}', 'unterminated quoted string'],
  ['rawstringconst', '{{`a}}', 'unterminated raw quoted string'],
  ['number', '{{0xi}}', 'number syntax'],
  ['multidefine', '{{define `a`}}a{{end}}{{define `a`}}b{{end}}', 'multiple definition of template'],
  ['eof', '{{range .X}}', 'unexpected EOF'],
  ['variable', '{{$x := 23}}{{with $x.y := 3}}{{$x 23}}{{end}}', 'unexpected ":="'],
  ['multidecl', '{{$a,$b,$c := 23}}', 'too many declarations'],
  ['undefvar', '{{$a}}', 'undefined variable'],
  ['wrongdot', '{{true.any}}', 'unexpected . after term'],
  ['wrongpipeline', '{{12|false}}', 'non executable command in pipeline'],
  ['emptypipeline', '{{ ( ) }}', 'missing value for parenthesized pipeline'],
  ['multilinerawstring', '{{ $v := `\n` }} {{', 'multilinerawstring:2: unclosed action'],
  ['rangeundefvar', '{{range $k}}{{end}}', 'undefined variable'],
  ['rangeundefvars', '{{range $k, $v}}{{end}}', 'undefined variable'],
  ['rangemissingvalue1', '{{range $k,}}{{end}}', 'missing value for range'],
  ['rangemissingvalue2', '{{range $k, $v := }}{{end}}', 'missing value for range'],
  ['rangenotvariable1', '{{range $k, .}}{{end}}', 'range can only initialize variables'],
  ['rangenotvariable2', '{{range $k, 123 := .}}{{end}}', 'range can only initialize variables'],
];

describe('Go errorTests', () => {
  it.each(ERROR_TESTS)('%s', (name, input, fragment) => {
    expect(() => parse(name, input)).toThrow(fragment);
  });

  it('prefixes parse errors with template: <name>:<line>:', () => {
    expect(() => parse('f.tpl', 'a\nb\n{{ nope }}')).toThrow(
      'template: f.tpl:3: function "nope" not defined',
    );
  });

  it('treats break/continue as functions when defined', () => {
    const withBreak = (n: string) => n === 'break';
    expect(() => parseFile('t', '{{range .X}}{{break 20}}{{end}}', withBreak)).not.toThrow();
    expect(() => parseFile('t', '{{range .X}}{{break 20}}{{end}}', () => false)).toThrow(TemplateError);
  });

  it('applies the configured paren limit as RENDER_LIMIT', () => {
    expect(() => parseFile('t', '{{ (((( 1 )))) }}', has, { maxParenDepth: 3, maxNesting: 10 })).toThrow(
      RenderLimitError,
    );
    expect(() => parseFile('t', '{{ ((( 1 ))) }}', has, { maxParenDepth: 3, maxNesting: 10 })).not.toThrow();
  });
});

describe('block and isEmptyTree', () => {
  it('block defines the inner template (Go TestBlock)', () => {
    const trees = parse('outer', 'a{{block "inner" .}}bar{{.}}baz{{end}}b');
    expect(nodeString(trees.get('outer')!.root)).toBe('a{{template "inner" .}}b');
    expect(nodeString(trees.get('inner')!.root)).toBe('bar{{.}}baz');
  });

  const EMPTY: ReadonlyArray<readonly [string, string, boolean]> = [
    ['empty', '', true],
    ['nonempty', 'hello', false],
    ['spaces only', ' \t\n \t\n', true],
    ['comment only', '{{/* comment */}}', true],
    ['definition', '{{define "x"}}something{{end}}', true],
    ['definitions and space', '{{define `x`}}something{{end}}\n\n{{define `y`}}something{{end}}\n\n', true],
    ['definitions and text', '{{define `x`}}something{{end}}\nx\n{{define `y`}}something{{end}}\ny\n', false],
    ['definition and action', '{{define `x`}}something{{end}}{{if 3}}foo{{end}}', false],
  ];
  it.each(EMPTY)('isEmptyTree %s', (_name, input, empty) => {
    expect(isEmptyTree(parse('root', input).get('root')!.root)).toBe(empty);
  });

  it('records action and pipe line numbers (Go TestLineNum)', () => {
    const nodes = parse('bench', '{{printf 1234}}\n'.repeat(3)).get('bench')!.root.nodes;
    for (let i = 0; i < nodes.length; i += 2) {
      const action = nodes[i]!;
      expect(action.type).toBe('action');
      if (action.type === 'action') {
        expect(action.line).toBe(1 + i / 2);
        expect(action.pipe.line).toBe(1 + i / 2);
      }
    }
  });
});

describe('lexer (Go lex_test items)', () => {
  function lex(input: string): string[] {
    const l = new Lexer(input, { breakOK: true, continueOK: true });
    const out: string[] = [];
    for (;;) {
      const it = l.nextItem();
      out.push(`${T[it.typ]}:${it.val}`);
      if (it.typ === T.EOF || it.typ === T.Error) return out;
    }
  }

  it.each([
    ['empty', '', ['EOF:']],
    ['spaces', ' \t\n', ['Text: \t\n', 'EOF:']],
    ['text', 'now is the time', ['Text:now is the time', 'EOF:']],
    ['text with comment', 'hello-{{/* this is a comment */}}-world', ['Text:hello-', 'Text:-world', 'EOF:']],
    [
      'punctuation',
      '{{,@% }}',
      ['LeftDelim:{{', 'Char:,', 'Char:@', 'Char:%', 'Space: ', 'RightDelim:}}', 'EOF:'],
    ],
    [
      'parens',
      '{{((3))}}',
      [
        'LeftDelim:{{',
        'LeftParen:(',
        'LeftParen:(',
        'Number:3',
        'RightParen:)',
        'RightParen:)',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    ['empty action', '{{}}', ['LeftDelim:{{', 'RightDelim:}}', 'EOF:']],
    ['for', '{{for}}', ['LeftDelim:{{', 'Identifier:for', 'RightDelim:}}', 'EOF:']],
    [
      'block',
      '{{block "foo" .}}',
      ['LeftDelim:{{', 'Block:block', 'Space: ', 'String:"foo"', 'Space: ', 'Dot:.', 'RightDelim:}}', 'EOF:'],
    ],
    ['quote', '{{"abc \\n\\t\\" "}}', ['LeftDelim:{{', 'String:"abc \\n\\t\\" "', 'RightDelim:}}', 'EOF:']],
    [
      'raw quote',
      '{{`abc\\n\\t\\" `}}',
      ['LeftDelim:{{', 'RawString:`abc\\n\\t\\" `', 'RightDelim:}}', 'EOF:'],
    ],
    [
      'raw quote with newline',
      '{{`now is{{\n}}the time`}}',
      ['LeftDelim:{{', 'RawString:`now is{{\n}}the time`', 'RightDelim:}}', 'EOF:'],
    ],
    [
      'numbers',
      '{{1 02 0x14 0X14 -7.2i 1e3 1E3 +1.2e-4 4.2i 1+2i 1_2 0x1.e_fp4 0X1.E_FP4}}',
      [
        'LeftDelim:{{',
        'Number:1',
        'Space: ',
        'Number:02',
        'Space: ',
        'Number:0x14',
        'Space: ',
        'Number:0X14',
        'Space: ',
        'Number:-7.2i',
        'Space: ',
        'Number:1e3',
        'Space: ',
        'Number:1E3',
        'Space: ',
        'Number:+1.2e-4',
        'Space: ',
        'Number:4.2i',
        'Space: ',
        'Complex:1+2i',
        'Space: ',
        'Number:1_2',
        'Space: ',
        'Number:0x1.e_fp4',
        'Space: ',
        'Number:0X1.E_FP4',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'characters',
      "{{'a' '\\n' '\\'' '\\\\' '\\u00FF' '\\xFF' '本'}}",
      [
        'LeftDelim:{{',
        "CharConstant:'a'",
        'Space: ',
        "CharConstant:'\\n'",
        'Space: ',
        "CharConstant:'\\''",
        'Space: ',
        "CharConstant:'\\\\'",
        'Space: ',
        "CharConstant:'\\u00FF'",
        'Space: ',
        "CharConstant:'\\xFF'",
        'Space: ',
        "CharConstant:'本'",
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'bools',
      '{{true false}}',
      ['LeftDelim:{{', 'Bool:true', 'Space: ', 'Bool:false', 'RightDelim:}}', 'EOF:'],
    ],
    ['dot', '{{.}}', ['LeftDelim:{{', 'Dot:.', 'RightDelim:}}', 'EOF:']],
    ['nil', '{{nil}}', ['LeftDelim:{{', 'Nil:nil', 'RightDelim:}}', 'EOF:']],
    [
      'dots',
      '{{.x . .2 .x.y.z}}',
      [
        'LeftDelim:{{',
        'Field:.x',
        'Space: ',
        'Dot:.',
        'Space: ',
        'Number:.2',
        'Space: ',
        'Field:.x',
        'Field:.y',
        'Field:.z',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'keywords',
      '{{range if else end with}}',
      [
        'LeftDelim:{{',
        'Range:range',
        'Space: ',
        'If:if',
        'Space: ',
        'Else:else',
        'Space: ',
        'End:end',
        'Space: ',
        'With:with',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'variables',
      '{{$c := printf $ $hello $23 $ $var.Field .Method}}',
      [
        'LeftDelim:{{',
        'Variable:$c',
        'Space: ',
        'Declare::=',
        'Space: ',
        'Identifier:printf',
        'Space: ',
        'Variable:$',
        'Space: ',
        'Variable:$hello',
        'Space: ',
        'Variable:$23',
        'Space: ',
        'Variable:$',
        'Space: ',
        'Variable:$var',
        'Field:.Field',
        'Space: ',
        'Field:.Method',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'variable invocation',
      '{{$x 23}}',
      ['LeftDelim:{{', 'Variable:$x', 'Space: ', 'Number:23', 'RightDelim:}}', 'EOF:'],
    ],
    [
      'pipeline',
      'intro {{echo hi 1.2 |noargs|args 1 "hi"}} outro',
      [
        'Text:intro ',
        'LeftDelim:{{',
        'Identifier:echo',
        'Space: ',
        'Identifier:hi',
        'Space: ',
        'Number:1.2',
        'Space: ',
        'Pipe:|',
        'Identifier:noargs',
        'Pipe:|',
        'Identifier:args',
        'Space: ',
        'Number:1',
        'Space: ',
        'String:"hi"',
        'RightDelim:}}',
        'Text: outro',
        'EOF:',
      ],
    ],
    [
      'declaration',
      '{{$v := 3}}',
      [
        'LeftDelim:{{',
        'Variable:$v',
        'Space: ',
        'Declare::=',
        'Space: ',
        'Number:3',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      '2 declarations',
      '{{$v , $w := 3}}',
      [
        'LeftDelim:{{',
        'Variable:$v',
        'Space: ',
        'Char:,',
        'Space: ',
        'Variable:$w',
        'Space: ',
        'Declare::=',
        'Space: ',
        'Number:3',
        'RightDelim:}}',
        'EOF:',
      ],
    ],
    [
      'field of parenthesized expression',
      '{{(.X).Y}}',
      ['LeftDelim:{{', 'LeftParen:(', 'Field:.X', 'RightParen:)', 'Field:.Y', 'RightDelim:}}', 'EOF:'],
    ],
    [
      'trimming spaces before and after',
      'hello- {{- 3 -}} -world',
      ['Text:hello-', 'LeftDelim:{{', 'Number:3', 'RightDelim:}}', 'Text:-world', 'EOF:'],
    ],
    [
      'trimming spaces before and after comment',
      'hello- {{- /* hello */ -}} -world',
      ['Text:hello-', 'Text:-world', 'EOF:'],
    ],
    ['badchar', '#{{\x01}}', ['Text:#', 'LeftDelim:{{', 'Error:unrecognized character in action: U+0001']],
    ['unclosed action', '{{', ['LeftDelim:{{', 'Error:unclosed action']],
    ['EOF in action', '{{range', ['LeftDelim:{{', 'Range:range', 'Error:unclosed action']],
    ['unclosed quote', '{{"\n"}}', ['LeftDelim:{{', 'Error:unterminated quoted string']],
    ['unclosed raw quote', '{{`xx}}', ['LeftDelim:{{', 'Error:unterminated raw quoted string']],
    ['unclosed char constant', "{{'\n}}", ['LeftDelim:{{', 'Error:unterminated character constant']],
    ['bad number', '{{3k}}', ['LeftDelim:{{', 'Error:bad number syntax: "3k"']],
    ['unclosed paren', '{{(3}}', ['LeftDelim:{{', 'LeftParen:(', 'Number:3', 'Error:unclosed left paren']],
    ['extra right paren', '{{3)}}', ['LeftDelim:{{', 'Number:3', "Error:unexpected right paren U+0029 ')'"]],
    [
      'long pipeline deadlock',
      '{{|||||}}',
      ['LeftDelim:{{', 'Pipe:|', 'Pipe:|', 'Pipe:|', 'Pipe:|', 'Pipe:|', 'RightDelim:}}', 'EOF:'],
    ],
    ['text with bad comment', 'hello-{{/*/}}-world', ['Text:hello-', 'Error:unclosed comment']],
    [
      'text with comment close separated from delim',
      'hello-{{/* */ }}-world',
      ['Text:hello-', 'Error:comment ends before closing delimiter'],
    ],
    ['unmatched right delimiter', 'hello-{.}}-world', ['Text:hello-{.}}-world', 'EOF:']],
  ] as const)('%s', (_name, input, items) => {
    expect(lex(input)).toEqual(items);
  });
});
