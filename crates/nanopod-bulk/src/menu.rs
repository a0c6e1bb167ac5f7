//! The menu: the Rust types of every fast-path signature, and the dispatch
//! from a [`Shape`] to them.

use crate::{Bulk, Kind, Returned, Returns, Shape};
use std::marker::PhantomData;
use wasmtime::component::{ComponentNamedList, ComponentType, Lift, Lower};

/// The Rust type of one [`Kind`].
pub(crate) trait Value: ComponentType + Lift + Lower + Send + Sync + 'static {
    fn into_bulk(self) -> Bulk;
    fn from_bulk(b: Bulk) -> Option<Self>;
}

impl Value for Vec<u8> {
    fn into_bulk(self) -> Bulk {
        Bulk::Bytes(self)
    }
    fn from_bulk(b: Bulk) -> Option<Self> {
        match b {
            Bulk::Bytes(v) => Some(v),
            _ => None,
        }
    }
}

impl Value for String {
    fn into_bulk(self) -> Bulk {
        Bulk::Text(self)
    }
    fn from_bulk(b: Bulk) -> Option<Self> {
        match b {
            Bulk::Text(v) => Some(v),
            _ => None,
        }
    }
}

impl Value for u32 {
    fn into_bulk(self) -> Bulk {
        Bulk::U32(self)
    }
    fn from_bulk(b: Bulk) -> Option<Self> {
        match b {
            Bulk::U32(v) => Some(v),
            _ => None,
        }
    }
}

/// The Rust type of a parameter list.
pub(crate) trait Params: ComponentNamedList + Lift + Lower + Send + Sync + 'static {
    fn from_bulks(v: Vec<Bulk>) -> Option<Self>;
    fn into_bulks(self) -> Vec<Bulk>;
}

impl Params for () {
    fn from_bulks(v: Vec<Bulk>) -> Option<Self> {
        v.is_empty().then_some(())
    }
    fn into_bulks(self) -> Vec<Bulk> {
        Vec::new()
    }
}

impl<A: Value> Params for (A,) {
    fn from_bulks(v: Vec<Bulk>) -> Option<Self> {
        let [a] = <[Bulk; 1]>::try_from(v).ok()?;
        Some((A::from_bulk(a)?,))
    }
    fn into_bulks(self) -> Vec<Bulk> {
        vec![self.0.into_bulk()]
    }
}

impl<A: Value, B: Value> Params for (A, B) {
    fn from_bulks(v: Vec<Bulk>) -> Option<Self> {
        let [a, b] = <[Bulk; 2]>::try_from(v).ok()?;
        Some((A::from_bulk(a)?, B::from_bulk(b)?))
    }
    fn into_bulks(self) -> Vec<Bulk> {
        vec![self.0.into_bulk(), self.1.into_bulk()]
    }
}

/// The Rust type of a result list.
pub(crate) trait Results: ComponentNamedList + Lift + Lower + Send + Sync + 'static {
    fn from_returned(r: Returned) -> Option<Self>;
    fn into_returned(self) -> Returned;
}

impl Results for () {
    fn from_returned(r: Returned) -> Option<Self> {
        matches!(r, Returned::Nothing).then_some(())
    }
    fn into_returned(self) -> Returned {
        Returned::Nothing
    }
}

impl<A: Value> Results for (A,) {
    fn from_returned(r: Returned) -> Option<Self> {
        match r {
            Returned::Value(v) => Some((A::from_bulk(v)?,)),
            _ => None,
        }
    }
    fn into_returned(self) -> Returned {
        Returned::Value(self.0.into_bulk())
    }
}

impl Results for (Result<(), String>,) {
    fn from_returned(r: Returned) -> Option<Self> {
        match r {
            Returned::Ok(None) => Some((Ok(()),)),
            Returned::Err(e) => Some((Err(e),)),
            _ => None,
        }
    }
    fn into_returned(self) -> Returned {
        match self.0 {
            Ok(()) => Returned::Ok(None),
            Err(e) => Returned::Err(e),
        }
    }
}

impl<A: Value> Results for (Result<A, String>,) {
    fn from_returned(r: Returned) -> Option<Self> {
        match r {
            Returned::Ok(Some(v)) => Some((Ok(A::from_bulk(v)?),)),
            Returned::Err(e) => Some((Err(e),)),
            _ => None,
        }
    }
    fn into_returned(self) -> Returned {
        match self.0 {
            Ok(v) => Returned::Ok(Some(v.into_bulk())),
            Err(e) => Returned::Err(e),
        }
    }
}

/// Something done with the Rust types of a signature.
pub(crate) trait Visit {
    type Out;
    fn visit<P: Params, R: Results>(self) -> Self::Out;
}

/// Something done with the Rust type of one kind.
trait VisitKind {
    type Out;
    fn visit<A: Value>(self) -> Self::Out;
}

fn with_kind<V: VisitKind>(kind: Kind, v: V) -> V::Out {
    match kind {
        Kind::Bytes => v.visit::<Vec<u8>>(),
        Kind::Text => v.visit::<String>(),
        Kind::U32 => v.visit::<u32>(),
    }
}

/// Calls `v` with the Rust types of `shape`.
pub(crate) fn dispatch<V: Visit>(shape: &Shape, v: V) -> V::Out {
    let returns = shape.returns;
    match shape.params.as_slice() {
        [] => with_returns::<(), V>(returns, v),
        [a] => with_kind(*a, One { returns, v }),
        [a, b] => with_kind(
            *a,
            First {
                second: *b,
                returns,
                v,
            },
        ),
        _ => unreachable!("a shape has at most MAX_PARAMS parameters"),
    }
}

fn with_returns<P: Params, V: Visit>(returns: Returns, v: V) -> V::Out {
    match returns {
        Returns::Nothing => v.visit::<P, ()>(),
        Returns::Value(k) => with_kind(k, Plain::<P, V>(v, PhantomData)),
        Returns::Fallible(None) => v.visit::<P, (Result<(), String>,)>(),
        Returns::Fallible(Some(k)) => with_kind(k, Fallible::<P, V>(v, PhantomData)),
    }
}

struct One<V> {
    returns: Returns,
    v: V,
}

impl<V: Visit> VisitKind for One<V> {
    type Out = V::Out;
    fn visit<A: Value>(self) -> V::Out {
        with_returns::<(A,), V>(self.returns, self.v)
    }
}

struct First<V> {
    second: Kind,
    returns: Returns,
    v: V,
}

impl<V: Visit> VisitKind for First<V> {
    type Out = V::Out;
    fn visit<A: Value>(self) -> V::Out {
        with_kind(
            self.second,
            Second::<A, V> {
                returns: self.returns,
                v: self.v,
                first: PhantomData,
            },
        )
    }
}

struct Second<A, V> {
    returns: Returns,
    v: V,
    first: PhantomData<fn() -> A>,
}

impl<A: Value, V: Visit> VisitKind for Second<A, V> {
    type Out = V::Out;
    fn visit<B: Value>(self) -> V::Out {
        with_returns::<(A, B), V>(self.returns, self.v)
    }
}

struct Plain<P, V>(V, PhantomData<fn() -> P>);

impl<P: Params, V: Visit> VisitKind for Plain<P, V> {
    type Out = V::Out;
    fn visit<A: Value>(self) -> V::Out {
        self.0.visit::<P, (A,)>()
    }
}

struct Fallible<P, V>(V, PhantomData<fn() -> P>);

impl<P: Params, V: Visit> VisitKind for Fallible<P, V> {
    type Out = V::Out;
    fn visit<A: Value>(self) -> V::Out {
        self.0.visit::<P, (Result<A, String>,)>()
    }
}
