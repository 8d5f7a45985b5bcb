/**
 * Values files and what the real Helm v4.1.4 made of them (`helm template -f v.yaml`
 * of a chart printing `{{ toJson .Values }}` and each top-level value's `typeOf`;
 * errors: Helm's stderr).
 */
export interface YamlOracleCase {
  text: string;
  json?: string;
  types?: string;
  error?: string;
}

export const YAML_CASES: YamlOracleCase[] = [
  {
    text: 'a: .inf\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: json: unsupported value: +Inf',
  },
  {
    text: 'a: -.Inf\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: json: unsupported value: -Inf',
  },
  {
    text: 'a: .NaN\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: json: unsupported value: NaN',
  },
  {
    text: 'a: !!binary aGVsbG8=\n',
    json: '{"a":"hello"}',
    types: 'a=string;',
  },
  {
    text: 'a: 1\na: 2\n',
    json: '{"a":2}',
    types: 'a=float64;',
  },
  {
    text: '1: a\n1.5: b\ntrue: c\n2: d\n0x10: e\n1e3: f\n',
    json: '{"1":"a","1.5":"b","1000":"f","16":"e","2":"d","true":"c"}',
    types: '1=string;1.5=string;1000=string;16=string;2=string;true=string;',
  },
  {
    text: '~: d\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: "d"',
  },
  {
    text: '- a\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}',
  },
  {
    text: 'x\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}',
  },
  {
    text: 'true\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal bool into Go value of type map[string]interface {}',
  },
  {
    text: 'null\n',
    json: '{}',
    types: '',
  },
  {
    text: '',
    json: '{}',
    types: '',
  },
  {
    text: '# only a comment\n',
    json: '{}',
    types: '',
  },
  {
    text: '---\n---\na: 1\n---\nb: 2\n',
    json: '{"a":1,"b":2}',
    types: 'a=float64;b=float64;',
  },
  {
    text: 'a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n',
    json: '{"a":{"b":1},"c":{"b":1},"d":{"b":1,"e":2}}',
    types: 'a=map[string]interface {};c=map[string]interface {};d=map[string]interface {};',
  },
  {
    text: 'a: 9223372036854775807\nb: 18446744073709551615\nc: 1_000\nd: 0o17\ne: 017\nf: 0b101\ng: -0b11\n',
    json: '{"a":9223372036854776000,"b":18446744073709552000,"c":1000,"d":15,"e":15,"f":5,"g":-3}',
    types: 'a=float64;b=float64;c=float64;d=float64;e=float64;f=float64;g=float64;',
  },
  {
    text: '? [a]\n: 1\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: invalid map key: []interface {}{"a"}',
  },
  {
    text: 'a: !!str 1\nb: !!int "3"\nc: !!float 2\n',
    json: '{"a":"1","b":3,"c":2}',
    types: 'a=string;b=float64;c=float64;',
  },
  {
    text: 'a: 1e400\nb: 1.5e-7\nc: 0.000001\n',
    json: '{"a":"1e400","b":1.5e-7,"c":0.000001}',
    types: 'a=string;b=float64;c=float64;',
  },
  {
    text: 'a: *x\n',
    error:
      "Error: failed to parse v.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: unknown anchor 'x' referenced",
  },
  {
    text: 'a: !!foo x\n',
    json: '{"a":"x"}',
    types: 'a=string;',
  },
  {
    text: 'a: !!float 1\nb: 1.0\nc: -0.0\nd: 3.0e5\n',
    json: '{"a":1,"b":1,"c":-0,"d":300000}',
    types: 'a=float64;b=float64;c=float64;d=float64;',
  },
  {
    text: '--- {a: 1}\n',
    error:
      'Error: failed to parse v.yaml: error reading yaml document: invalid Yaml document separator: {a: 1}',
  },
  {
    text: 'a: 1\n----\nb: 2\n',
    error: 'Error: failed to parse v.yaml: error reading yaml document: invalid Yaml document separator: -',
  },
  {
    text: 'a: |\n  x\n  ---\n  y\nb: 1\n',
    json: '{"a":"x\\n---\\ny\\n","b":1}',
    types: 'a=string;b=float64;',
  },
  {
    text: 'a: 1\n...\n',
    json: '{"a":1}',
    types: 'a=float64;',
  },
  {
    text: 'a: !!set {x}\n',
    json: '{"a":{"x":null}}',
    types: 'a=map[string]interface {};',
  },
  {
    text: 'a: 0.1\nb: 1.0e+3\nc: 123456789012345678\nd: -0\ne: +5\nf: 0x_1F\n',
    json: '{"a":0.1,"b":1000,"c":123456789012345680,"d":0,"e":5,"f":31}',
    types: 'a=float64;b=float64;c=float64;d=float64;e=float64;f=float64;',
  },
  {
    text: 'a: yes\nb: No\nc: on\nd: OFF\ne: y\nf: n\ng: Yes\nh: TRUE\n',
    json: '{"a":true,"b":false,"c":true,"d":false,"e":true,"f":false,"g":true,"h":true}',
    types: 'a=bool;b=bool;c=bool;d=bool;e=bool;f=bool;g=bool;h=bool;',
  },
  {
    text: 'a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 2002-13-01\n',
    json: '{"a":"2001-12-14","b":"2001-12-14t21:59:43.10-05:00","c":"2001-12-14 21:59:43.10","d":"2002-13-01"}',
    types: 'a=string;b=string;c=string;d=string;',
  },
  {
    text: 'a:\n  - &anchor {x: 1}\n  - *anchor\nb:\n  <<: [*anchor, {x: 2, y: 3}]\n',
    json: '{"a":[{"x":1},{"x":1}],"b":{"true":3,"x":1}}',
    types: 'a=[]interface {};b=map[string]interface {};',
  },
  {
    text: "a: \"x\\ty\\u00e9\"\nb: 'it''s'\nc: >\n  folded\n  text\n",
    json: '{"a":"x\\tyé","b":"it\'s","c":"folded text\\n"}',
    types: 'a=string;b=string;c=string;',
  },
  {
    text: '__proto__: {polluted: 1}\nconstructor: x\n',
    json: '{"__proto__":{"polluted":1},"constructor":"x"}',
    types: '__proto__=map[string]interface {};constructor=string;',
  },
  {
    text: 'a:\n  b:\n    c: null\n  d: ~\n',
    json: '{"a":{"b":{"c":null},"d":null}}',
    types: 'a=map[string]interface {};',
  },
  {
    text: 'a: 1\n---\n- x\n',
    error:
      'Error: failed to parse v.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}',
  },
  {
    text: 'a: 1\nb:\n  c: 2\n---\nb:\n  d: 3\n',
    json: '{"a":1,"b":{"c":2,"d":3}}',
    types: 'a=float64;b=map[string]interface {};',
  },
  {
    text: 'a: [1, 2, {b: c}]\n',
    json: '{"a":[1,2,{"b":"c"}]}',
    types: 'a=[]interface {};',
  },
  {
    text: 'a: 0777\nb: 08\nc: 1_2.5\nd: +.5\ne: .5\nf: -.5e2\n',
    json: '{"a":511,"b":8,"c":12.5,"d":0.5,"e":0.5,"f":-50}',
    types: 'a=float64;b=float64;c=float64;d=float64;e=float64;f=float64;',
  },
  {
    text: '﻿a: 1\r\nb: yes\r\n---\r\nc: 2\r\n',
    json: '{"a":1,"b":true,"c":2}',
    types: 'a=float64;b=bool;c=float64;',
  },
  {
    text: 'a: !!timestamp 2001-01-01\nb: !!null ""\nc: !!bool "yes"\nd: !!int 0x1F\n',
    json: '{"a":"2001-01-01","b":null,"c":true,"d":31}',
    types: 'a=string;b=<nil>;c=bool;d=float64;',
  },
];
