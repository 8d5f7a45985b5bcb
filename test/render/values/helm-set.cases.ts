/**
 * `--set`-family lines and what the real Helm v4.1.4 made of them, recorded with
 * `helm template` of a chart printing `{{ toJson .Values }}` and the `typeOf` of each
 * top-level value (errors: Helm's stderr). `json: null` = checked separately (too big).
 */
export interface SetOracleCase {
  flags: [string, string][];
  json?: string | null;
  types?: string;
  error?: string;
  note?: string;
}

export const SET_CASES: SetOracleCase[] = [
  {
    flags: [['--set', 'name1=null,f=false,t=true']],
    json: '{"f":false,"name1":null,"t":true}',
    types: 'f=bool;name1=<nil>;t=bool;',
  },
  {
    flags: [['--set', 'name1=value1,name2=value2,']],
    json: '{"name1":"value1","name2":"value2"}',
    types: 'name1=string;name2=string;',
  },
  {
    flags: [['--set', 'name1=value1,,,,name2=value2,']],
    error: 'Error: failed parsing --set data: key "" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1=,name2=value2']],
    json: '{"name1":"","name2":"value2"}',
    types: 'name1=string;name2=string;',
  },
  {
    flags: [
      [
        '--set',
        'leading_zeros=00009,z=0,mz=-0,p=+5,big=9223372036854775808,neg=-9223372036854775808,f=1.5,e=1e3',
      ],
    ],
    json: '{"big":"9223372036854775808","e":"1e3","f":"1.5","leading_zeros":"00009","mz":0,"neg":-9223372036854775808,"p":5,"z":0}',
    types: 'big=string;e=string;f=string;leading_zeros=string;mz=int64;neg=int64;p=int64;z=int64;',
  },
  {
    flags: [['--set', 'T=TRUE,F=False,N=NULL']],
    json: '{"F":false,"N":null,"T":true}',
    types: 'F=bool;N=<nil>;T=bool;',
  },
  {
    flags: [['--set', 'name1,name2=']],
    error: 'Error: failed parsing --set data: key "name1" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1,name2=value2']],
    error: 'Error: failed parsing --set data: key "name1" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1,name2=value2\\']],
    error: 'Error: failed parsing --set data: key "name1" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1=one\\,two,name2=three\\=four,name3=a\\.b']],
    json: '{"name1":"one,two","name2":"three=four","name3":"a.b"}',
    types: 'name1=string;name2=string;name3=string;',
  },
  {
    flags: [['--set', 'a\\.b=c,x\\[0\\]=y']],
    json: '{"a.b":"c","x[0]":"y"}',
    types: 'a.b=string;x[0]=string;',
  },
  {
    flags: [['--set', 'outer.inner1=value,outer.middle.inner=value']],
    json: '{"outer":{"inner1":"value","middle":{"inner":"value"}}}',
    types: 'outer=map[string]interface {};',
  },
  {
    flags: [['--set', 'name1.name2']],
    error: 'Error: failed parsing --set data: key "name2" has no value',
  },
  {
    flags: [['--set', 'name1.name2,name1.name3']],
    error: 'Error: failed parsing --set data: key "name2" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1.name2=']],
    json: '{"name1":{"name2":""}}',
    types: 'name1=map[string]interface {};',
  },
  {
    flags: [['--set', 'name1.=name2']],
    error: 'Error: failed parsing --set data: key map "name1" has no value',
  },
  {
    flags: [['--set', 'name1.,name2']],
    error: 'Error: failed parsing --set data: key "" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'name1={value1,value2},name2={1021,902},n3={}']],
    json: '{"n3":[""],"name1":["value1","value2"],"name2":[1021,902]}',
    types: 'n3=[]interface {};name1=[]interface {};name2=[]interface {};',
  },
  {
    flags: [['--set', 'name1={1021,902']],
    error: "Error: failed parsing --set data: list must terminate with '}'",
  },
  {
    flags: [['--set', 'name1={a,b}x,c=d']],
    error: 'Error: failed parsing --set data: key "x" has no value (cannot end with ,)',
  },
  {
    flags: [['--set', 'list[0].foo=bar,list[0].hello=world']],
    json: '{"list":[{"foo":"bar","hello":"world"}]}',
    types: 'list=[]interface {};',
  },
  {
    flags: [['--set', 'list[0].foo=bar,list[-30].hello=world']],
    error: 'Error: failed parsing --set data: negative -30 index not allowed',
  },
  {
    flags: [['--set', 'list[0]=foo,list[3]=bar']],
    json: '{"list":["foo",null,null,"bar"]}',
    types: 'list=[]interface {};',
  },
  {
    flags: [['--set', 'list[65536]=x']],
    json: null,
    types: 'list=[]interface {};',
    note: 'list of 65537 entries, the last "x"',
  },
  {
    flags: [['--set', 'list[65537]=x']],
    error:
      'Error: failed parsing --set data: index of 65537 is greater than maximum supported index of 65536',
  },
  {
    flags: [['--set', 'list[99999999999999999999]=x']],
    error:
      'Error: failed parsing --set data: error parsing index: strconv.Atoi: parsing "99999999999999999999": value out of range',
  },
  {
    flags: [['--set', 'list[x]=y']],
    error: 'Error: failed parsing --set data: error parsing index: strconv.Atoi: parsing "x": invalid syntax',
  },
  {
    flags: [['--set', 'illegal[0]name.foo=bar']],
    error: "Error: failed parsing --set data: unexpected data at end of array index: ['n' 'a' 'm' 'e']",
  },
  {
    flags: [['--set', 'noval[0]']],
    json: '{"noval":[]}',
    types: 'noval=[]interface {};',
  },
  {
    flags: [['--set', 'noval[0]=']],
    json: '{"noval":[""]}',
    types: 'noval=[]interface {};',
  },
  {
    flags: [['--set', 'nested[1][1]=1']],
    json: '{"nested":[null,[null,1]]}',
    types: 'nested=[]interface {};',
  },
  {
    flags: [['--set', 'a[1']],
    json: '{}',
    types: '',
  },
  {
    flags: [['--set', 'name1.name2[1].foo=bar,name1.name2[0].foo=bar']],
    json: '{"name1":{"name2":[{"foo":"bar"},{"foo":"bar"}]}}',
    types: 'name1=map[string]interface {};',
  },
  {
    flags: [['--set', ']={}].']],
    error:
      'Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is []interface {}, not map[string]interface {}',
  },
  {
    flags: [
      ['--set', 'a=b'],
      ['--set', 'a.c=d'],
    ],
    error:
      'Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is string, not map[string]interface {}',
  },
  {
    flags: [
      ['--set', 'a=b'],
      ['--set', 'a[0]=d'],
    ],
    error:
      'Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is string, not []interface {}',
  },
  {
    flags: [
      ['--set', 'a[0]=b'],
      ['--set', 'a[0][0]=d'],
    ],
    error:
      'Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is string, not []interface {}',
  },
  {
    flags: [
      ['--set', 'a[0]=b'],
      ['--set', 'a[0].c=d'],
    ],
    json: '{"a":[{"c":"d"}]}',
    types: 'a=[]interface {};',
  },
  {
    flags: [['--set', 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a1.a2.a3.a4=1']],
    json: '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"a1":{"a2":{"a3":{"a4":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}',
    types: 'a=map[string]interface {};',
  },
  {
    flags: [['--set', 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a1.a2.a3.a4.a5=1']],
    json: '{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"a1":{"a2":{"a3":{"a4":{"a5":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}',
    types: 'a=map[string]interface {};',
  },
  {
    flags: [['--set', '=x,y=1']],
    json: '{"y":1}',
    types: 'y=int64;',
  },
  {
    flags: [
      ['--set', 'a=1'],
      ['--set-string', 'b=2,c=true,d=null'],
      ['--set-json', 'a=2'],
    ],
    json: '{"a":1,"b":"2","c":"true","d":"null"}',
    types: 'a=int64;b=string;c=string;d=string;',
  },
  {
    flags: [['--set-json', 'a={"x": [1, 2.5, "s", null, true]}, b=[1,2],c=,d="q"']],
    json: '{" b":[1,2],"a":{"x":[1,2.5,"s",null,true]},"c":null,"d":"q"}',
    types: ' b=[]interface {};a=map[string]interface {};c=<nil>;d=string;',
  },
  {
    flags: [['--set-json', 'a=nope']],
    error: 'Error: failed parsing --set-json data a=nope',
  },
  {
    flags: [
      ['--set-json', '{"a": {"b": 1}}'],
      ['--set-json', 'a.c=2'],
    ],
    json: '{"a":{"b":1,"c":2}}',
    types: 'a=map[string]interface {};',
  },
  {
    flags: [['--set-json', '{"a": 1']],
    error: 'Error: failed parsing --set-json data JSON: {"a": 1',
  },
  {
    flags: [['--set-json', 'list[0]={"x":1},list[2]=3']],
    json: '{"list":[{"x":1},null,3]}',
    types: 'list=[]interface {};',
  },
  {
    flags: [['--set-literal', 'a.b=x,y=z\\n{c}']],
    json: '{"a":{"b":"x,y=z\\\\n{c}"}}',
    types: 'a=map[string]interface {};',
  },
  {
    flags: [['--set-literal', 'a[0].b=v=w']],
    json: '{"a":[{"b":"v=w"}]}',
    types: 'a=[]interface {};',
  },
  {
    flags: [['--set-literal', 'a']],
    error: 'Error: failed parsing --set-literal data: key "a" has no value',
  },
  {
    flags: [
      ['--set', 'a=x'],
      ['--set-literal', 'a.b=c'],
    ],
    error:
      'Error: failed parsing --set-literal data: unable to parse key: interface conversion: interface {} is string, not map[string]interface {}',
  },
  {
    flags: [['--set', 'a={x,y},a[2]=z']],
    json: '{"a":["x","y","z"]}',
    types: 'a=[]interface {};',
  },
  {
    flags: [['--set', 'a.b=1,a=2']],
    json: '{"a":2}',
    types: 'a=int64;',
  },
  {
    flags: [['--set', 'a=2,a.b=1']],
    error:
      'Error: failed parsing --set data: unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}',
  },
  {
    flags: [['--set', 'a={b,{c,d}']],
    json: '{"a":["b","{c","d"]}',
    types: 'a=[]interface {};',
  },
  {
    flags: [['--set', 'key with space=v a l,k2=ü']],
    json: '{"k2":"ü","key with space":"v a l"}',
    types: 'k2=string;key with space=string;',
  },
];
