/**
 * Ground truth from the real Helm v4.1.4 CLI (go1.25.9, text/template of Go 1.25),
 * recorded by running `helm template` on a scratch chart whose values.yaml is
 * VALUES below:
 * - INCLUDE_CASES: `{{ include "case" .Values | toJson }}` with `case` defined as the
 *   template text (so `.` is the values map and `<no value>` is kept verbatim);
 * - EXEC_ERRORS / PARSE_ERRORS: the text as `templates/t.yaml` (dot = the Helm root
 *   object); Helm's multi-line error layout folded back into Go's one-line form. For
 *   parse errors Helm prints only `parse error at (<file>:<line>): <tail of Go's message>`.
 */
import type { GoMap } from '../../../src/render/template/index.js';

/** The values.yaml the cases were recorded with. */
export const VALUES_YAML =
  'a: 1\nzero: 0\nf: 3.5\ns: x\ne: ""\nt: true\nn: null\nm: {k: 2.5, j: "y", b: false}\nem: {}\nl: [a, b]\nel: []\nnl: [1, 2.5, "s", null, true]\nbig: 1000000\nbig2: 123456\nbig3: 1234567\nsmall: 0.0001\nsmall2: 0.00001\nneg: -2.5\ni64: 9007199254740993\n';

/** values.yaml as sigs.k8s.io/yaml decodes it (every number is float64). */
export function values(): GoMap {
  return {
    a: 1,
    zero: 0,
    f: 3.5,
    s: 'x',
    e: '',
    t: true,
    n: null,
    m: { k: 2.5, j: 'y', b: false },
    em: {},
    l: ['a', 'b'],
    el: [],
    nl: [1, 2.5, 's', null, true],
    big: 1000000,
    big2: 123456,
    big3: 1234567,
    small: 0.0001,
    small2: 0.00001,
    neg: -2.5,
    // 9007199254740993 in values.yaml: float64 rounds it to 2^53.
    i64: 2 ** 53,
  };
}

export const INCLUDE_CASES: ReadonlyArray<readonly [template: string, output: string]> = [
  [
    '{{ .a }}|{{ .big }}|{{ .big2 }}|{{ .big3 }}|{{ .small }}|{{ .small2 }}|{{ .neg }}|{{ .i64 }}|{{ .zero }}|{{ .f }}',
    '1|1e+06|123456|1.234567e+06|0.0001|1e-05|-2.5|9.007199254740992e+15|0|3.5',
  ],
  [
    '{{ .m }}|{{ .l }}|{{ .nl }}|{{ .em }}|{{ .el }}|{{ .n }}|{{ .missing }}|{{ .t }}|{{ .e }}',
    'map[b:false j:y k:2.5]|[a b]|[1 2.5 s <nil> true]|map[]|[]|<no value>|<no value>|true|',
  ],
  [
    '{{ print .n }}|{{ print .missing }}|{{ print .nl }}|{{ print .m }}|{{ printf "%v" .missing }}',
    '<nil>|<nil>|[1 2.5 s <nil> true]|map[b:false j:y k:2.5]|<nil>',
  ],
  [
    '{{ print 1 2 }}|{{ print "a" 1 }}|{{ print 1 "a" }}|{{ print 1.0 2 }}|{{ print nil }}|{{ print true false }}|{{ print "a" "b" }}|{{ print }}',
    '1 2|a1|1a|1 2|<nil>|true false|ab|',
  ],
  ['{{ println "a" 1 }}|{{ println }}|{{ println nil 2.5 }}', 'a 1\n|\n|<nil> 2.5\n'],
  [
    '{{ 1 }}|{{ -1 }}|{{ +1 }}|{{ 1.0 }}|{{ 1.5 }}|{{ 1e3 }}|{{ 0x10 }}|{{ 0o17 }}|{{ 017 }}|{{ 0b101 }}|{{ 1_000 }}|{{ 0x_1F }}',
    '1|-1|1|1|1.5|1000|16|15|15|5|1000|31',
  ],
  [
    "{{ 'a' }}|{{ '\\n' }}|{{ '\\x41' }}|{{ '\\u00e9' }}|{{ '\\'' }}|{{ 0x1p4 }}|{{ 1e21 }}|{{ 1e20 }}|{{ .5 }}|{{ 0.000001 }}|{{ 100000.0 }}|{{ -0x1e }}|{{ 0x1e }}|{{ -0 }}|{{ 1E2 }}",
    '97|10|65|233|39|16|1e+21|1e+20|0.5|1e-06|100000|-30|30|0|100',
  ],
  [
    '{{ "a\\tb" }}|{{ `raw\\n` }}|{{ "\\u00e9" }}|{{ "\\x41" }}|{{ "\\101" }}|{{ "\\\\" }}|{{ "\\"" }}',
    'a\tb|raw\\n|é|A|A|\\|"',
  ],
  [
    'a  {{- 1 -}}  b|a {{- /* c */ -}} b|{{- "x" }}\n\n  {{- "y" -}}\n z|{{-3}}|{{ 3 -}}  \n  x|{{/* c */}}ok|{{- /* c */}} k',
    'a1b|ab|xyz|-3|3x|ok| k',
  ],
  [
    '{{ if .a }}A{{ end }}|{{ if .zero }}Z{{ else }}nz{{ end }}|{{ if .e }}E{{ else if .s }}S{{ end }}|{{ if .el }}L{{ else }}nl{{ end }}|{{ if .em }}M{{ else }}nm{{ end }}|{{ if .n }}N{{ else }}nn{{ end }}|{{ if .missing }}?{{ else }}miss{{ end }}|{{ if .m }}m{{ end }}|{{ if 0.0 }}f{{ else }}nf{{ end }}',
    'A|nz|S|nl|nm|nn|miss|m|nf',
  ],
  [
    '{{ with .m }}{{ .k }}{{ end }}|{{ with .e }}E{{ else }}noe{{ end }}|{{ with .missing }}?{{ else with .s }}{{ . }}{{ end }}|{{ with $x := .l }}{{ $x }}{{ . }}{{ end }}|{{ with .zero }}z{{ else with .e }}e{{ else }}none{{ end }}',
    '2.5|noe|x|[a b][a b]|none',
  ],
  [
    '{{ range .l }}[{{ . }}]{{ end }}|{{ range $i, $e := .l }}{{ $i }}:{{ $e }},{{ end }}|{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}|{{ range .el }}x{{ else }}empty{{ end }}|{{ range .missing }}x{{ else }}nil{{ end }}|{{ range $v := .l }}{{ $v }}{{ end }}|{{ range .em }}x{{ else }}em{{ end }}',
    '[a][b]|0:a,1:b,|b=false;j=y;k=2.5;|empty|nil|ab|em',
  ],
  [
    '{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 2 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}|{{ range -1 }}x{{ else }}neg{{ end }}|{{ range $i, $e := .nl }}{{ $i }}{{ end }}',
    '012|01|none|neg|01234',
  ],
  [
    '{{ range .nl }}{{ if eq (printf "%v" .) "s" }}{{ break }}{{ end }}{{ . }},{{ end }}|{{ range .nl }}{{ if eq (printf "%T" .) "float64" }}{{ continue }}{{ end }}{{ . }},{{ end }}',
    '1,2.5,|s,<no value>,true,',
  ],
  [
    '{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}|{{ with .m }}{{ $.s }}{{ end }}|{{ $y := .a }}{{ if true }}{{ $y = 5 }}{{ end }}{{ $y }}|{{ $z := 1 }}{{ if true }}{{ $z := 3 }}{{ $z }}{{ end }}{{ $z }}|{{ $r := 0 }}{{ range $r = .l }}{{ end }}{{ $r }}|{{ $i := 9 }}{{ $e := 0 }}{{ range $i, $e = .l }}{{ end }}{{ $i }}{{ $e }}',
    '12|x|5|31|b|1b',
  ],
  [
    '{{ and 1 0 }}|{{ and 1 2 }}|{{ or 0 "" }}|{{ or 0 "x" }}|{{ and .missing 1 }}|{{ or .e .s }}|{{ not 0 }}|{{ not .s }}|{{ or 1 (index .l 5) }}|{{ and 0 (index .l 5) }}|{{ 0 | and 1 }}|{{ 2 | or 0 }}|{{ and .l .m }}|{{ or .n .missing }}',
    '0|2||x|<no value>|x|true|false|1|0|0|2|map[b:false j:y k:2.5]|<no value>',
  ],
  [
    '{{ eq 1 1 }}|{{ eq "a" "b" "a" }}|{{ eq 1 2 3 1 }}|{{ ne "a" "b" }}|{{ lt 1 2 }}|{{ le 2 2 }}|{{ gt "b" "a" }}|{{ ge 1.5 1.5 }}|{{ eq .missing nil }}|{{ eq .n .missing }}|{{ eq .f 3.5 }}|{{ eq .s "x" }}|{{ eq true true }}|{{ eq .missing "x" }}|{{ ne .n "x" }}|{{ lt "a" "ab" }}',
    'true|true|true|true|true|true|true|true|true|true|true|true|true|false|true|true',
  ],
  [
    '{{ index .l 1 }}|{{ index .m "k" }}|{{ index .m "nope" }}|{{ index "abc" 1 }}|{{ index .nl 3 }}|{{ index . "m" "j" }}|{{ index .l }}',
    'b|2.5|<no value>|98|<no value>|y|[a b]',
  ],
  ['{{ len .l }}|{{ len .m }}|{{ len "héllo" }}|{{ len .el }}|{{ len . | printf "%T" }}', '2|3|6|0|int'],
  [
    '{{ printf "%d|%5d|%-5d|%05d|%+d|% d|%x|%X|%o|%O|%b|%#x|%#o|%08.3d|%.0d|%c|%q|%U|%#U" 42 42 42 -42 42 42 255 255 8 8 5 255 8 7 0 65 65 9731 9731 }}',
    "42|   42|42   |-0042|+42| 42|ff|FF|10|0o10|101|0xff|010|     007||A|'A'|U+2603|U+2603 '☃'",
  ],
  [
    '{{ printf "%f|%.2f|%8.3f|%-8.2f|%e|%E|%.3e|%g|%G|%.3g|%g|%g|%v|%08.2f|%+.1f|% .1f|%.0f|%.0f|%.0f" 3.14159 3.14159 3.14159 2.5 1234.5678 0.000123 1234.5678 1e21 1e-7 1234.5678 100000.0 1e6 1e6 -3.14159 2.0 2.0 2.5 3.5 0.5 }}',
    '3.141590|3.14|   3.142|2.50    |1.234568e+03|1.230000E-04|1.235e+03|1e+21|1E-07|1.23e+03|100000|1e+06|1e+06|-0003.14|+2.0| 2.0|2|4|0',
  ],
  [
    '{{ printf "%s|%10s|%-10s|%.2s|%q|%x|%X|% x|%#x|%v|%5.1s|%q" "hello" "hi" "hi" "héllo" "a\\"b\\n" "hi" "hi" "hi" "hi" "str" "xyz" "é\\u2028" }}',
    'hello|        hi|hi        |hé|"a\\"b\\n"|6869|6869|68 69|0x6869|str|    x|"é\\u2028"',
  ],
  ['{{ printf "%t|%v|%5t|%d" true false true true }}', 'true|false| true|%!d(bool=true)'],
  [
    '{{ printf "%d %d" 1 }}|{{ printf "%d" 1 2 }}|{{ printf "%!" }}|{{ printf "%z" 1 }}|{{ printf "%d" "s" }}|{{ printf "%s" 1 }}|{{ printf "%d" 1.5 }}|{{ printf "%d" nil }}|{{ printf "%s" .missing }}|{{ printf "%" }}|{{ printf "%[2]d %[1]d" 1 2 }}|{{ printf "%[3]d" 1 }}|{{ printf "%*d" 5 1 }}|{{ printf "%.*f" 2 3.14159 }}|{{ printf "%-*d|" 4 7 }}|{{ printf "100%%" }}',
    '1 %!d(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!z(int=1)|%!d(string=s)|%!s(int=1)|%!d(float64=1.5)|%!d(<nil>)|%!s(<nil>)|%!(NOVERB)|2 1|%!d(BADINDEX)|    1|3.14|7   ||100%',
  ],
  [
    '{{ printf "%v|%d|%s|%q|%x" .l .nl .l .l .l }}|{{ printf "%v|%+v|%s|%d" .m .m .m .m }}|{{ printf "%T|%T|%T|%T|%T|%T|%T" .a 1 "s" .l .m nil true }}',
    '[a b]|[%!d(float64=1) %!d(float64=2.5) %!d(string=s) <nil> %!d(bool=true)]|[a b]|["a" "b"]|[61 62]|map[b:false j:y k:2.5]|map[b:false j:y k:2.5]|map[b:%!s(bool=false) j:y k:%!s(float64=2.5)]|map[%!d(string=b):%!d(bool=false) %!d(string=j):%!d(string=y) %!d(string=k):%!d(float64=2.5)]|float64|int|string|[]interface {}|map[string]interface {}|<nil>|bool',
  ],
  [
    '{{ printf "%5v|%-5v|%05v" .l .l 3 }}|{{ printf "%v" .nl }}|{{ printf "%6.2v" 3.14159 }}|{{ printf "%x" 3.5 }}|{{ printf "%10.4v|" "abcdefgh" }}',
    '[    a     b]|[a     b    ]|00003|[1 2.5 s <nil> true]|   3.1|0x1.cp+01|      abcd|',
  ],
  [
    '{{ html "<a href=\\"x\\">&\'</a>" }}|{{ js "a\\"b\'c<>&=\\\\ \\u2028\\x01é" }}|{{ urlquery "a b&c=d/é~" }}|{{ html 1 2 }}|{{ html .missing }}|{{ js nil }}|{{ html "a" "b" }}|{{ urlquery .l }}',
    '&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;|a\\"b\\\'c\\u003C\\u003E\\u0026\\u003D\\\\ \\u2028\\u0001é|a+b%26c%3Dd%2F%C3%A9~|1 2|&lt;no value&gt;|\\u003Cno value\\u003E|ab|%5Ba+b%5D',
  ],
  [
    '{{ (index .m "k") }}|{{ (.m).k }}|{{ $m := .m }}{{ $m.j }}|{{ $x := .missing }}{{ $x.y }}|{{ (.missing).y }}|{{ with $ }}{{ .s }}{{ end }}',
    '2.5|2.5|y|<no value>|<no value>|x',
  ],
  [
    '{{ .m | printf "%T" }}|{{ "x" | printf "%s-%s" "a" }}|{{ 1 | print 2 3 }}|{{ .l | len }}|{{ "abc" | len | printf "%d" }}',
    'map[string]interface {}|a-x|2 3 1|2|3',
  ],
  [
    '{{ printf "%v" 1e6 }}|{{ printf "%v" 1e-5 }}|{{ printf "%v" 123456789.0 }}|{{ printf "%.10g" 1e6 }}|{{ printf "%g" 0.0 }}|{{ printf "%e" 0.0 }}|{{ printf "%.3f" 1e22 }}|{{ printf "%v" 5e-324 }}|{{ printf "%.2f" 0.125 }}|{{ printf "%.2f" 0.375 }}|{{ printf "%.1f" 0.25 }}|{{ printf "%.3g" 2.5e-5 }}|{{ printf "%#g" 1.0 }}|{{ printf "%#v" 1.0 }}',
    '1e+06|1e-05|1.23456789e+08|1000000|0|0.000000e+00|10000000000000000000000.000|5e-324|0.12|0.38|0.2|2.5e-05|1.00000|1',
  ],
  [
    '{{ printf "%v" -0.0 }}|{{ print 1.7976931348623157e308 }}|{{ print 2.2250738585072014e-308 }}|{{ print 0.1 }}|{{ print 1e100 }}|{{ printf "%.20f" 0.1 }}|{{ printf "%5.1f|%-7.2f|" -1.25 1.005 }}',
    '-0|1.7976931348623157e+308|2.2250738585072014e-308|0.1|1e+100|0.10000000000000000555| -1.2|1.00   |',
  ],
];

export const EXEC_ERRORS: ReadonlyArray<readonly [template: string, message: string]> = [
  [
    'x: {{ range .Values.l }}{{ .x }}{{ end }}',
    'template: c/templates/t.yaml:1:27: executing "c/templates/t.yaml" at <.x>: can\'t evaluate field x in type interface {}',
  ],
  [
    'x: {{ range $k, $v := .Values.m }}{{ $v.x }}{{ end }}',
    'template: c/templates/t.yaml:1:39: executing "c/templates/t.yaml" at <$v.x>: can\'t evaluate field x in type interface {}',
  ],
  [
    'x: {{ $s := .Values.s }}{{ $s.x }}',
    'template: c/templates/t.yaml:1:29: executing "c/templates/t.yaml" at <$s.x>: can\'t evaluate field x in type string',
  ],
  [
    'x: {{ with .Values.s }}{{ .x }}{{ end }}',
    'template: c/templates/t.yaml:1:26: executing "c/templates/t.yaml" at <.x>: can\'t evaluate field x in type string',
  ],
  [
    'x: {{ (.Values.s).x }}',
    'template: c/templates/t.yaml:1:14: executing "c/templates/t.yaml" at <.Values.s>: can\'t evaluate field x in type string',
  ],
  [
    'x: {{ $i := 9 }}{{ range $i, $e = .Values.l }}{{ end }}',
    'template: c/templates/t.yaml:1:41: executing "c/templates/t.yaml" at <.Values.l>: undefined variable: $e',
  ],
  [
    'x: {{ .Values.m.k.z }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.m.k.z>: can\'t evaluate field z in type interface {}',
  ],
  [
    'x: {{ index .Values.l 0 | len | printf "%d" | lt 1 }}',
    'template: c/templates/t.yaml:1:46: executing "c/templates/t.yaml" at <lt 1>: error calling lt: incompatible types for comparison: int and string',
  ],
  [
    'x: {{ printf "%d" (len .Values.l) | eq 1 }}',
    'template: c/templates/t.yaml:1:36: executing "c/templates/t.yaml" at <eq 1>: error calling eq: incompatible types for comparison: int and string',
  ],
  [
    'x: {{ .Values.missing.x }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.missing.x>: nil pointer evaluating interface {}.x',
  ],
  [
    'x: {{ .Values.n.x }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.n.x>: nil pointer evaluating interface {}.x',
  ],
  [
    'x: {{ .Values.s.x }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.s.x>: can\'t evaluate field x in type interface {}',
  ],
  [
    'x: {{ .Values.l.x }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.l.x>: can\'t evaluate field x in type interface {}',
  ],
  [
    'x: {{ .Values.a.b }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.a.b>: can\'t evaluate field b in type interface {}',
  ],
  [
    'x: {{ eq .Values.a 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <eq .Values.a 1>: error calling eq: incompatible types for comparison: float64 and int',
  ],
  [
    'x: {{ lt .Values.a "x" }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <lt .Values.a "x">: error calling lt: incompatible types for comparison: float64 and string',
  ],
  [
    'x: {{ lt true false }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <lt true false>: error calling lt: invalid type for comparison',
  ],
  [
    'x: {{ eq .Values.m .Values.m }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <eq .Values.m .Values.m>: error calling eq: non-comparable type map[b:%!s(bool=false) j:y k:%!s(float64=2.5)]: map[string]interface {}',
  ],
  [
    'x: {{ eq .Values.m "x" }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <eq .Values.m "x">: error calling eq: incompatible types for comparison: map[string]interface {} and string',
  ],
  [
    'x: {{ eq .Values.l .Values.m }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <eq .Values.l .Values.m>: error calling eq: non-comparable types [a b]: []interface {}, map[string]interface {}: map[b:false j:y k:2.5]',
  ],
  [
    'x: {{ lt .Values.m 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <lt .Values.m 1>: error calling lt: invalid type for comparison',
  ],
  [
    'x: {{ eq 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <eq 1>: error calling eq: missing argument for comparison',
  ],
  [
    'x: {{ index .Values.l 2 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.l 2>: error calling index: reflect: slice index out of range',
  ],
  [
    'x: {{ index .Values.l 5 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.l 5>: error calling index: index out of range: 5',
  ],
  [
    'x: {{ index .Values.missing 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.missing 1>: error calling index: index of untyped nil',
  ],
  [
    'x: {{ index .Values.m 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.m 1>: error calling index: value has type int; should be string',
  ],
  [
    'x: {{ index 5 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index 5 1>: error calling index: can\'t index item of type int',
  ],
  [
    'x: {{ index .Values.l "a" }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.l "a">: error calling index: cannot index slice/array with type string',
  ],
  [
    'x: {{ index .Values "missing" "x" }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values "missing" "x">: error calling index: index of nil pointer',
  ],
  [
    'x: {{ index .Values.l -1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.l -1>: error calling index: index out of range: -1',
  ],
  [
    'x: {{ index .Values.m nil }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.m nil>: error calling index: value is nil; should be of type string',
  ],
  [
    'x: {{ len 3 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <len 3>: error calling len: len of type int',
  ],
  [
    'x: {{ len .Values.missing }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <len .Values.missing>: error calling len: len of nil pointer',
  ],
  [
    'x: {{ $m := .Values.missing }}{{ len $m }}',
    'template: c/templates/t.yaml:1:33: executing "c/templates/t.yaml" at <len $m>: error calling len: reflect: call of reflect.Value.Type on zero Value',
  ],
  [
    'x: {{ len .Values.n }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <len .Values.n>: error calling len: len of nil pointer',
  ],
  [
    'x: {{ not }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <not>: wrong number of args for not: want 1 got 0',
  ],
  [
    'x: {{ len 1 2 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <len>: wrong number of args for len: want 1 got 2',
  ],
  [
    'x: {{ printf }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <printf>: wrong number of args for printf: want at least 1 got 0',
  ],
  [
    'x: {{ printf 1 }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <1>: expected string; found 1',
  ],
  [
    'x: {{ printf .Values.a }}',
    'template: c/templates/t.yaml:1:20: executing "c/templates/t.yaml" at <.Values.a>: wrong type for value; expected string; got float64',
  ],
  [
    'x: {{ printf .Values.missing }}',
    'template: c/templates/t.yaml:1:20: executing "c/templates/t.yaml" at <.Values.missing>: wrong type for value; expected string; got interface {}',
  ],
  [
    'x: {{ .Values.missing | printf }}',
    'template: c/templates/t.yaml:1:24: executing "c/templates/t.yaml" at <printf>: invalid value; expected string',
  ],
  [
    'x: {{ "x" | not 1 }}',
    'template: c/templates/t.yaml:1:12: executing "c/templates/t.yaml" at <not>: wrong number of args for not: want 1 got 2',
  ],
  [
    'x: {{ 1 2 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <1>: can\'t give argument to non-function 1',
  ],
  [
    'x: {{ nil }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <nil>: nil is not a command',
  ],
  [
    'x: {{ .Values.a 1 }}',
    'template: c/templates/t.yaml:1:13: executing "c/templates/t.yaml" at <.Values.a>: a is not a method but has arguments',
  ],
  [
    'x: {{ "x" | .Values.a }}',
    'template: c/templates/t.yaml:1:19: executing "c/templates/t.yaml" at <.Values.a>: a is not a method but has arguments',
  ],
  [
    'x: {{ $x := 1 }}{{ $x 2 }}',
    'template: c/templates/t.yaml:1:19: executing "c/templates/t.yaml" at <$x>: can\'t give argument to non-function $x',
  ],
  [
    'x: {{ and }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <and>: wrong number of args for and: want at least 1 got 0',
  ],
  [
    'x: {{ 9223372036854775808 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <9223372036854775808>: 9223372036854775808 overflows int',
  ],
  [
    'x: {{ range .Values.s }}{{ end }}',
    'template: c/templates/t.yaml:1:19: executing "c/templates/t.yaml" at <.Values.s>: range can\'t iterate over x',
  ],
  [
    'x: {{ range .Values.f }}{{ end }}',
    'template: c/templates/t.yaml:1:19: executing "c/templates/t.yaml" at <.Values.f>: range can\'t iterate over 3.5',
  ],
  [
    'x: {{ range $i, $e := 3 }}{{ end }}',
    'template: c/templates/t.yaml:1:22: executing "c/templates/t.yaml" at <3>: can\'t use 3 to iterate over more than one variable',
  ],
  [
    'x: {{ template "nope" }}',
    'template: c/templates/t.yaml:1:15: executing "c/templates/t.yaml" at <{{template "nope"}}>: template "nope" not defined',
  ],
  [
    'x: {{ (nil).x }}',
    'template: c/templates/t.yaml:1:7: executing "c/templates/t.yaml" at <nil>: nil is not a command',
  ],
  [
    'x: {{ printf "%s" (index .Values.l 1 2) }}',
    'template: c/templates/t.yaml:1:19: executing "c/templates/t.yaml" at <index .Values.l 1 2>: error calling index: index out of range: 2',
  ],
];

export const PARSE_ERRORS: ReadonlyArray<readonly [template: string, line: number, helmTail: string]> = [
  ['{{ if }}', 1, 'missing value for if'],
  ['{{ end }}', 1, 'unexpected {{end}}'],
  ['{{ if 1 }}', 1, 'unexpected EOF'],
  ['{{ range $a, $b, $c := .Values.l }}{{ end }}', 1, 'too many declarations in range'],
  ['{{ $x }}', 1, 'undefined variable "$x"'],
  ['{{ break }}', 1, '{{break}} outside {{range}}'],
  ['{{ 1 | 2 }}', 1, 'non executable command in pipeline stage 2'],
  ['{{ "a }}', 1, 'unterminated quoted string'],
  ['{{ ( 1 }}', 1, 'unclosed left paren'],
  ['{{ ) }}', 1, 'unexpected right paren'],
  ['{{ 0x }}', 1, '"0x"'],
  ['{{ 1.2.3 }}', 1, 'unexpected ".3" in operand'],
  ['{{ 99999999999999999999 }}', 1, '"99999999999999999999"'],
  ["{{ 'ab' }}", 1, "'ab'"],
  ['{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', 1, 'multiple definition of template "a"'],
  ['{{ else }}', 1, 'unexpected {{else}}'],
  ['{{ if 1 }}{{ else }}{{ else }}{{ end }}', 1, 'expected end; found {{else}}'],
  ['{{ template }}', 1, 'unexpected "}}" in template clause'],
  ['{{ template .x }}', 1, 'unexpected ".x" in template clause'],
  ['{{ with $x := 1 }}{{ end }}{{ $x }}', 1, 'undefined variable "$x"'],
  ['{{ nosuch 1 }}', 1, 'function "nosuch" not defined'],
  ['{{ "x".y }}', 1, 'unexpected . after term "\\"x\\""'],
  ['{{ | .a }}', 1, 'unexpected "|" in command'],
  ['{{ 1 }', 1, 'unexpected "}" in operand'],
  ['{{ .a\n', 2, 'unclosed action started at c/templates/t.yaml:1'],
  ['{{ range .Values.l }}\n{{ continue 1 }}{{ end }}', 2, 'unexpected "1" in {{continue}}'],
  ['{{ $x := 1, 2 }}', 1, 'unexpected "," in operand'],
  ['{{ /* x */ }}', 1, 'unexpected "/" in command'],
  ['{{/* x */ 1 }}', 1, 'comment ends before closing delimiter'],
  ['{{ .a.1 }}', 1, 'unexpected ".1" in operand'],
  ['{{ "\\q" }}', 1, 'invalid syntax'],
  ['{{ define "x" }}{{ end }}{{ end }}', 1, 'unexpected {{end}}'],
  ['{{ block "b" }}{{ end }}', 1, 'missing value for block clause'],
  ['{{ x := 1 }}', 1, 'function "x" not defined'],
  ['{{ $x := }}', 1, 'missing value for command'],
  ['{{ .Values.a = 1 }}', 1, 'unexpected "=" in operand'],
  ['{{ 3.x }}', 1, '"3.x"'],
  ['{{ 08 }}', 1, '"08"'],
  ['{{ 1__0 }}', 1, '"1__0"'],
  ['{{ #  }}', 1, 'unexpected "#" in command'],
  ['{{ range $i, 3 }}{{ end }}', 1, 'range can only initialize variables'],
];

// Second batch (same recording method).
export const MORE_INCLUDE_CASES: ReadonlyArray<readonly [template: string, output: string]> = [
  [
    '{{ $x := . }}{{ range $x.l }}{{ $x.s }}{{ . }}{{ end }}|{{ range $i, $_ := .l }}{{ $_ }}{{ end }}',
    'xaxb|ab',
  ],
  ['{{"{{"}} x {{"}}"}}|{{ `{{` }}|{{- /* multi\nline */ -}} |', '{{ x }}|{{||'],
  [
    '{{ 9223372036854775807 }}|{{ -9223372036854775808 }}|{{ 1e-7 }}|{{ 0.1 }}|{{ 1.0e+2 }}|{{ 0x7FFFFFFFFFFFFFFF }}|{{ 1_0.5 }}|{{ 0b1_0 }}|{{ 0o_7 }}',
    '9223372036854775807|-9223372036854775808|1e-07|0.1|100|9223372036854775807|10.5|2|7',
  ],
  [
    "{{ '\\377' }}|{{ '\\U0001F600' }}|{{ '\\t' }}|{{ printf \"%c\" 'x' }}|{{ printf \"%T\" 'x' }}",
    '255|128512|9|x|int',
  ],
  [
    '{{ with $x := .missing }}a{{ else with $y := .s }}{{ $y }}{{ end }}|{{ with $x := .m }}{{ $x.j }}{{ .k }}{{ end }}',
    'x|y2.5',
  ],
  [
    '{{ print .m.k }}|{{ .m.k }}|{{ printf "%v %s" .m.k .m.j }}|{{ printf "%6.2f|%-8v|%+v" .f .s .t }}',
    '2.5|2.5|2.5 y|  3.50|x       |true',
  ],
  [
    '{{ range $k, $v := .m }}{{ if eq $k "j" }}{{ continue }}{{ end }}{{ $k }}={{ $v }};{{ end }}|{{ range .el }}{{ break }}{{ else }}E{{ end }}',
    'b=false;k=2.5;|E',
  ],
  [
    '{{ if .a }}{{ if .zero }}x{{ else if .t }}T{{ end }}{{ end }}|{{ if not (and .a .zero) }}ok{{ end }}|{{ if or .zero .e .n }}no{{ else }}none{{ end }}',
    'T|ok|none',
  ],
  [
    '{{ $a := 1 }}{{ range .l }}{{ $a = . }}{{ end }}{{ $a }}|{{ $b := 1 }}{{ with .s }}{{ $b := 2 }}{{ end }}{{ $b }}',
    'b|1',
  ],
  ['{{ len .nl }}|{{ index .nl 2 }}|{{ index .nl 3 | printf "%v" }}', '5|s|<nil>'],
  [
    '{{ print (index .m "k") 1 }}|{{ print .m.k "a" }}|{{ print 1.5 2.5 }}|{{ print true 1 }}|{{ print "" "" }}|{{ print nil 1 }}',
    '2.5 1|2.5a|1.5 2.5|true 1||<nil> 1',
  ],
  ['{{ .s | printf "%s" | printf "%q" }}|{{ "a" | printf "%s%s" "b" }}|{{ 3 | printf "%d" }}', '"x"|ba|3'],
  [
    '{{ eq .a .f }}|{{ eq .f 3.5 2.5 }}|{{ eq 1 1 2 }}|{{ ne .s .e }}|{{ lt .a .f }}|{{ ge .big .big2 }}|{{ eq .t true }}|{{ eq .e "" }}',
    'false|true|true|true|true|true|true|true',
  ],
  [
    '{{ js "<>" }}|{{ html "\\x00" }}|{{ urlquery "\\u00e9 +" }}|{{ js 1 "a" }}|{{ urlquery }}',
    '\\u003C\\u003E|�|%C3%A9+%2B|1a|',
  ],
  [
    '{{ printf "%08.3f|%-08.3f|%+08d|% 08d|%x|%X|%#o" 3.14159 3.14159 42 42 -255 -255 8 }}',
    '0003.142|3.142   |+0000042| 0000042|-ff|-FF|010',
  ],
  [
    '{{ printf "%5.1q|%.3v|%10.3v|%-10.3v|" "abcdef" "abcdef" "abcdef" "abcdef" }}',
    '  "a"|abc|       abc|abc       |',
  ],
  [
    '{{ printf "%v %v %v" .em .el .nl }}|{{ printf "%d" .em }}|{{ printf "%s" .el }}|{{ printf "%q" .nl }}',
    'map[] [] [1 2.5 s <nil> true]|map[]|[]|[%!q(float64=1) %!q(float64=2.5) "s" <nil> %!q(bool=true)]',
  ],
  [
    '{{ printf "%e|%E|%.0e|%g|%G" 123456.789 0.000012345 5.5 1e-4 1e-5 }}',
    '1.234568e+05|1.234500E-05|6e+00|0.0001|1E-05',
  ],
  [
    '{{ printf "%.3s|%.10q|%x|% X" "日本語日本語" "日本語" "日本" "日本" }}',
    '日本語|"日本語"|e697a5e69cac|E6 97 A5 E6 9C AC',
  ],
];

export const MORE_EXEC_ERRORS: ReadonlyArray<readonly [template: string, message: string]> = [
  [
    'x: {{ range $i, $c := "abc" }}{{ end }}',
    'template: c/templates/t.yaml:1:22: executing "c/templates/t.yaml" at <"abc">: range can\'t iterate over abc',
  ],
  [
    'x: {{ call .Values.a 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <call .Values.a 1>: error calling call: non-function .Values.a of type float64',
  ],
  [
    'x: {{ .Values.a | call }}',
    'template: c/templates/t.yaml:1:18: executing "c/templates/t.yaml" at <call>: error calling call: non-function <float64 Value> of type float64',
  ],
  [
    'x: {{ define "x" }}{{ .nope.y }}{{ end }}{{ template "x" .Values }}',
    'template: c/templates/t.yaml:1:27: executing "x" at <.nope.y>: nil pointer evaluating interface {}.y',
  ],
  [
    'x: {{ range .Values.l }}{{ $.nope.x }}{{ end }}',
    'template: c/templates/t.yaml:1:28: executing "c/templates/t.yaml" at <$.nope.x>: nil pointer evaluating interface {}.x',
  ],
  [
    'x: {{ index .Values.l 0 1 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.l 0 1>: error calling index: reflect: string index out of range',
  ],
  [
    'x: {{ index .Values.s 5 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <index .Values.s 5>: error calling index: index out of range: 5',
  ],
  [
    'x: {{ .Values.l | index 0 }}',
    'template: c/templates/t.yaml:1:18: executing "c/templates/t.yaml" at <index 0>: error calling index: can\'t index item of type int',
  ],
  [
    'x: {{ not 1 2 }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <not>: wrong number of args for not: want 1 got 2',
  ],
  [
    'x: {{ call .Values.a }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <call .Values.a>: error calling call: non-function .Values.a of type float64',
  ],
  [
    'x: {{ call .Values.missing }}',
    'template: c/templates/t.yaml:1:6: executing "c/templates/t.yaml" at <call .Values.missing>: error calling call: call of nil',
  ],
  [
    'x: {{ with .Values.l }}{{ .x }}{{ end }}',
    'template: c/templates/t.yaml:1:26: executing "c/templates/t.yaml" at <.x>: can\'t evaluate field x in type []interface {}',
  ],
  [
    'x: {{ (index .Values.l 0).x }}',
    'template: c/templates/t.yaml:1:23: executing "c/templates/t.yaml" at <0>: can\'t evaluate field x in type string',
  ],
  [
    'x: {{ $e := index .Values.l 0 }}{{ $e.x }}',
    'template: c/templates/t.yaml:1:37: executing "c/templates/t.yaml" at <$e.x>: can\'t evaluate field x in type string',
  ],
];

/** Successful `templates/t.yaml` renders: the document Helm printed (after its `<no value>` removal and trimming). */
export const DIRECT_OUTPUTS: ReadonlyArray<readonly [template: string, document: string]> = [
  ['x: {{ .Values.f | printf "%d" | len | eq 3 | not | and 1 }}', 'x: true'],
  ['x: {{ html .Values.m }}', 'x: map[b:false j:y k:2.5]'],
  ['x: {{ template "x" }}\n{{ define "x" }}{{ .Values }}{{ end }}', 'x:'],
];
