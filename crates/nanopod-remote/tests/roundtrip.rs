//! Property test: random values of random WIT types survive encoding,
//! framing and decoding unchanged.
//!
//! Each case writes a random WIT interface (records, variants, enums,
//! flags, lists, options, results, tuples and every scalar, nested), builds
//! a component exporting a function of those types, takes wasmtime's own
//! `Type`s from it, draws random `Val`s of them, and checks that
//! `read_message(put_message(v)) == v`. A failure prints the seed and WIT.
//!
//! A second property covers the byte fast path (`nanopod_bulk`): for
//! random signatures of its menu and random values, the fast path's
//! encoding is byte for byte the `Val` path's, each path decodes the
//! other's bytes, and the shape read from wasmtime's types is the one the
//! WIT was written from.

use nanopod_bulk::{Bulk, Kind, Returned, Returns, Shape};
use nanopod_remote::wire::frame;
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, Val};
use wasmtime::{Config, Engine};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve};

/// xorshift64*: small, deterministic, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// Writes a random type expression, adding named types to `defs`.
fn wit_type(rng: &mut Rng, depth: u32, defs: &mut Vec<String>) -> String {
    const SCALARS: [&str; 13] = [
        "bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char",
        "string",
    ];
    let pick = if depth == 0 { 0 } else { rng.below(10) };
    match pick {
        0..=2 => SCALARS[rng.below(SCALARS.len() as u64) as usize].to_string(),
        3 => format!("list<{}>", wit_type(rng, depth - 1, defs)),
        4 => format!("option<{}>", wit_type(rng, depth - 1, defs)),
        5 => match rng.below(4) {
            0 => "result".to_string(),
            1 => format!("result<{}>", wit_type(rng, depth - 1, defs)),
            2 => format!("result<_, {}>", wit_type(rng, depth - 1, defs)),
            _ => format!(
                "result<{}, {}>",
                wit_type(rng, depth - 1, defs),
                wit_type(rng, depth - 1, defs)
            ),
        },
        6 => {
            let items: Vec<String> = (0..1 + rng.below(3))
                .map(|_| wit_type(rng, depth - 1, defs))
                .collect();
            format!("tuple<{}>", items.join(", "))
        }
        7 => {
            let fields: Vec<String> = (0..1 + rng.below(3))
                .map(|i| format!("a{i}: {}", wit_type(rng, depth - 1, defs)))
                .collect();
            let n = defs.len();
            defs.push(format!("record t{n} {{ {} }}", fields.join(", ")));
            format!("t{n}")
        }
        8 => {
            let cases: Vec<String> = (0..1 + rng.below(4))
                .map(|i| {
                    if rng.chance(3) {
                        format!("c{i}")
                    } else {
                        format!("c{i}({})", wit_type(rng, depth - 1, defs))
                    }
                })
                .collect();
            let n = defs.len();
            defs.push(format!("variant t{n} {{ {} }}", cases.join(", ")));
            format!("t{n}")
        }
        _ => {
            let names: Vec<String> = (0..1 + rng.below(20)).map(|i| format!("f{i}")).collect();
            let n = defs.len();
            if rng.chance(2) {
                defs.push(format!("enum t{n} {{ {} }}", names.join(", ")));
            } else {
                defs.push(format!("flags t{n} {{ {} }}", names.join(", ")));
            }
            format!("t{n}")
        }
    }
}

/// A random value of `ty`.
fn value(rng: &mut Rng, ty: &Type) -> Val {
    let r = rng.next();
    match ty {
        Type::Bool => Val::Bool(r & 1 == 1),
        Type::S8 => Val::S8(r as i8),
        Type::U8 => Val::U8(r as u8),
        Type::S16 => Val::S16(r as i16),
        Type::U16 => Val::U16(r as u16),
        Type::S32 => Val::S32(r as i32),
        Type::U32 => Val::U32(r as u32),
        Type::S64 => Val::S64(r as i64),
        Type::U64 => Val::U64(r),
        Type::Float32 => Val::Float32((r as i32) as f32 / 7.0),
        Type::Float64 => Val::Float64((r as i64) as f64 / 3.0),
        Type::Char => Val::Char(random_char(rng)),
        Type::String => Val::String((0..rng.below(12)).map(|_| random_char(rng)).collect()),
        Type::List(l) => {
            let elem = l.ty();
            let n = if matches!(elem, Type::U8) && rng.chance(4) {
                70_000
            } else {
                rng.below(4)
            };
            Val::List((0..n).map(|_| value(rng, &elem)).collect())
        }
        Type::Option(o) => Val::Option(rng.chance(3).then(|| Box::new(value(rng, &o.ty())))),
        Type::Result(res) => {
            if r & 1 == 0 {
                Val::Result(Ok(res.ok().map(|t| Box::new(value(rng, &t)))))
            } else {
                Val::Result(Err(res.err().map(|t| Box::new(value(rng, &t)))))
            }
        }
        Type::Tuple(t) => Val::Tuple(t.types().map(|t| value(rng, &t)).collect()),
        Type::Record(rec) => Val::Record(
            rec.fields()
                .map(|f| (f.name.to_string(), value(rng, &f.ty)))
                .collect(),
        ),
        Type::Variant(v) => {
            let cases: Vec<_> = v.cases().collect();
            let case = &cases[rng.below(cases.len() as u64) as usize];
            Val::Variant(
                case.name.to_string(),
                case.ty.as_ref().map(|t| Box::new(value(rng, t))),
            )
        }
        Type::Enum(e) => {
            let names: Vec<_> = e.names().collect();
            Val::Enum(names[rng.below(names.len() as u64) as usize].to_string())
        }
        Type::Flags(f) => Val::Flags(
            f.names()
                .filter(|_| rng.chance(2))
                .map(str::to_string)
                .collect(),
        ),
        other => panic!("the generator wrote no {other:?}"),
    }
}

fn random_char(rng: &mut Rng) -> char {
    loop {
        let c = match rng.below(4) {
            0 => rng.below(0x80) as u32,
            1 => rng.below(0x800) as u32,
            2 => rng.below(0x1_0000) as u32,
            _ => rng.below(0x11_0000) as u32,
        };
        if let Some(c) = char::from_u32(c) {
            return c;
        }
    }
}

/// The parameter and result types of `f` in a component built from `wit`.
fn function_types(engine: &Engine, wit: &str) -> (Vec<Type>, Vec<Type>) {
    let mut resolve = Resolve::default();
    let pkg = resolve.push_str("roundtrip.wit", wit).expect(wit);
    let world = resolve.select_world(&[pkg], Some("w")).unwrap();
    let mangling = ManglingAndAbi::Standard32;
    let mut module = wit_component::dummy_module(&resolve, world, mangling);
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
    let bytes = ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .expect(wit);
    let component = Component::new(engine, bytes).unwrap();
    let ty = component.component_type();
    let (_, item) = ty.exports(engine).next().unwrap();
    let ComponentItem::ComponentInstance(instance) = item.ty else {
        panic!("the world exports an interface")
    };
    let (_, f) = instance.exports(engine).find(|(n, _)| *n == "f").unwrap();
    let ComponentItem::ComponentFunc(f) = f.ty else {
        panic!("`f` is a function")
    };
    (f.params().map(|(_, t)| t).collect(), f.results().collect())
}

#[tokio::test]
async fn random_values_of_random_types_round_trip() {
    let mut config = Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = Engine::new(&config).unwrap();
    for seed in 1..=120u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut defs = Vec::new();
        let params: Vec<String> = (0..1 + rng.below(3))
            .map(|i| format!("p{i}: {}", wit_type(&mut rng, 3, &mut defs)))
            .collect();
        let result = wit_type(&mut rng, 3, &mut defs);
        let wit = format!(
            "package test:roundtrip;\ninterface types {{\n  {}\n  f: func({}) -> {result};\n}}\nworld w {{ export types; }}\n",
            defs.join("\n  "),
            params.join(", ")
        );
        let (param_types, result_types) = function_types(&engine, &wit);
        for types in [&param_types, &result_types] {
            for _ in 0..8 {
                let vals: Vec<Val> = types.iter().map(|t| value(&mut rng, t)).collect();
                let mut wire = Vec::new();
                frame::put_message(&mut wire, &vals, types).unwrap();
                let back = frame::read_message(&mut &wire[..], types)
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wit}\n{vals:?}"));
                assert_eq!(back, vals, "seed {seed}\n{wit}");
            }
        }
    }
}

/// The WIT spelling of a fast-path kind.
fn kind_wit(kind: Kind) -> &'static str {
    match kind {
        Kind::Bytes => "list<u8>",
        Kind::Text => "string",
        Kind::U32 => "u32",
    }
}

fn random_kind(rng: &mut Rng) -> Kind {
    [Kind::Bytes, Kind::Text, Kind::U32][rng.below(3) as usize]
}

/// A random value of `kind`; byte lists are now and then longer than a
/// frame, so messages span several.
fn random_bulk(rng: &mut Rng, kind: Kind) -> Bulk {
    let len = match rng.below(8) {
        0 => 0,
        1 => frame::CHUNK + rng.below(3 * frame::CHUNK as u64) as usize,
        _ => rng.below(2000) as usize,
    };
    match kind {
        Kind::Bytes => Bulk::Bytes((0..len).map(|_| rng.next() as u8).collect()),
        Kind::Text => Bulk::Text((0..len / 4).map(|_| random_char(rng)).collect()),
        Kind::U32 => Bulk::U32(rng.next() as u32 >> rng.below(32)),
    }
}

fn bulk_to_val(v: &Bulk) -> Val {
    match v {
        Bulk::Bytes(b) => Val::List(b.iter().map(|b| Val::U8(*b)).collect()),
        Bulk::Text(t) => Val::String(t.clone()),
        Bulk::U32(n) => Val::U32(*n),
    }
}

fn returned_to_vals(r: &Returned) -> Vec<Val> {
    let boxed = |v: &Bulk| Some(Box::new(bulk_to_val(v)));
    match r {
        Returned::Nothing => vec![],
        Returned::Value(v) => vec![bulk_to_val(v)],
        Returned::Ok(v) => vec![Val::Result(Ok(v.as_ref().and_then(boxed)))],
        Returned::Err(e) => vec![Val::Result(Err(boxed(&Bulk::Text(e.clone()))))],
    }
}

#[tokio::test]
async fn the_byte_fast_path_writes_and_reads_exactly_the_val_paths_bytes() {
    let engine = Engine::new(Config::new().cranelift_opt_level(wasmtime::OptLevel::None)).unwrap();
    let mut tested = 0;
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let params: Vec<Kind> = (0..rng.below(3)).map(|_| random_kind(&mut rng)).collect();
        let returns = match rng.below(3) {
            0 => Returns::Nothing,
            1 => Returns::Value(random_kind(&mut rng)),
            _ => Returns::Fallible(
                [None, Some(Kind::Bytes), Some(Kind::Text)][rng.below(3) as usize],
            ),
        };
        let result = match returns {
            Returns::Nothing => String::new(),
            Returns::Value(k) => format!(" -> {}", kind_wit(k)),
            Returns::Fallible(None) => " -> result<_, string>".into(),
            Returns::Fallible(Some(k)) => format!(" -> result<{}, string>", kind_wit(k)),
        };
        let wit = format!(
            "package test:bulk;\ninterface types {{\n  f: func({}){result};\n}}\nworld w {{ export types; }}\n",
            params
                .iter()
                .enumerate()
                .map(|(i, k)| format!("p{i}: {}", kind_wit(*k)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (param_types, result_types) = function_types(&engine, &wit);
        let shape = Shape {
            params: params.clone(),
            returns,
        };
        let Some(read) = Shape::of(&param_types, &result_types) else {
            // Only signatures without a byte list or string are left out.
            let bulky = |k: &Kind| *k != Kind::U32;
            assert!(
                !params.iter().any(bulky)
                    && !matches!(returns, Returns::Value(k) | Returns::Fallible(Some(k)) if bulky(&k)),
                "seed {seed}: no shape for\n{wit}"
            );
            continue;
        };
        assert_eq!(read, shape, "seed {seed}\n{wit}");
        tested += 1;
        for _ in 0..4 {
            let vals: Vec<Bulk> = params.iter().map(|k| random_bulk(&mut rng, *k)).collect();
            let as_vals: Vec<Val> = vals.iter().map(bulk_to_val).collect();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            frame::put_bulk_message(&mut fast, &vals).unwrap();
            frame::put_message(&mut slow, &as_vals, &param_types).unwrap();
            assert!(
                fast == slow,
                "seed {seed}: parameters encode differently\n{wit}"
            );
            let back = frame::read_root(&mut &slow[..], &frame::BulkParams(&params))
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wit}"));
            assert_eq!(back, vals, "seed {seed}\n{wit}");
            assert_eq!(
                frame::read_message(&mut &fast[..], &param_types)
                    .await
                    .unwrap(),
                as_vals,
                "seed {seed}\n{wit}"
            );

            let returned = match returns {
                Returns::Nothing => Returned::Nothing,
                Returns::Value(k) => Returned::Value(random_bulk(&mut rng, k)),
                Returns::Fallible(_) if rng.chance(3) => {
                    Returned::Err(format!("failed {}", rng.next()))
                }
                Returns::Fallible(k) => Returned::Ok(k.map(|k| random_bulk(&mut rng, k))),
            };
            let as_vals = returned_to_vals(&returned);
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            frame::put_returned(&mut fast, &returned, returns).unwrap();
            frame::put_message(&mut slow, &as_vals, &result_types).unwrap();
            assert!(
                fast == slow,
                "seed {seed}: results encode differently\n{wit}"
            );
            let back = frame::read_root(&mut &slow[..], &frame::BulkResult(returns))
                .await
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{wit}"));
            assert_eq!(back, returned, "seed {seed}\n{wit}");
            assert_eq!(
                frame::read_message(&mut &fast[..], &result_types)
                    .await
                    .unwrap(),
                as_vals,
                "seed {seed}\n{wit}"
            );
        }
    }
    assert!(
        tested > 100,
        "only {tested} signatures were on the fast path"
    );
}

#[tokio::test]
async fn the_byte_fast_path_refuses_what_the_val_path_refuses() {
    // A string that is not UTF-8, a truncated list, trailing bytes, a bad
    // result tag, and a value of another shape.
    let text = frame::BulkParams(&[Kind::Text]);
    let bytes = frame::BulkParams(&[Kind::Bytes]);
    for (payload, decode, problem) in [
        (&[2u8, 0xff, 0xfe][..], &text, "malformed string"),
        (&[5, 1, 2][..], &bytes, "the peer closed the connection"),
        (&[1, 7, 9][..], &bytes, "1 unexpected byte"),
    ] {
        let mut wire = Vec::new();
        frame::put_frames(&mut wire, &[], payload);
        let err = frame::read_root(&mut &wire[..], decode).await.unwrap_err();
        assert!(err.to_string().contains(problem), "{err} for {payload:?}");
    }
    let mut wire = Vec::new();
    frame::put_frames(&mut wire, &[], &[2]);
    let err = frame::read_root(&mut &wire[..], &frame::BulkResult(Returns::Fallible(None)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("malformed result"), "{err}");
    let err = frame::put_returned(
        &mut Vec::new(),
        &Returned::Value(Bulk::U32(1)),
        Returns::Value(Kind::Bytes),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
}
