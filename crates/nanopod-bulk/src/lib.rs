//! The byte fast path: typed wasmtime calls, picked at run time, for the
//! signatures that carry bulk bytes.
//!
//! wasmtime's dynamic API carries a `list<u8>` as one [`Val`] per byte
//! (40 bytes of host memory each, lifted and lowered one by one); its typed
//! API (`Func::typed`, `LinkerInstance::func_wrap_async`) copies a
//! `Vec<u8>` or `String` in bulk and type-checks at run time. The typed
//! API needs its Rust types at compile time, so this crate compiles every
//! signature of a fixed menu and picks one when a function's WIT type is
//! known:
//!
//! - parameters: at most [`MAX_PARAMS`], each `list<u8>`, `string` or
//!   `u32` ([`Kind`]);
//! - result: none, one of those kinds, or `result<_, string>` /
//!   `result<list<u8>, string>` / `result<string, string>` ([`Returns`]);
//! - and at least one `list<u8>` or `string` among them: signatures of
//!   scalars alone gain nothing over `Val`s.
//!
//! Everything else keeps the dynamic path. A [`Shape`] names one menu
//! entry; [`Shape::caller`] calls a guest's export of that shape and
//! [`Shape::define`] defines a host function of it.
//!
//! [`Val`]: wasmtime::component::Val

mod menu;

use menu::{Params, Results, Visit, dispatch};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use wasmtime::component::types::Type;
use wasmtime::component::{Func, LinkerInstance};
use wasmtime::{StoreContextMut, format_err};

/// The most parameters a fast-path signature has.
pub const MAX_PARAMS: usize = 2;

/// The type of one fast-path value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `list<u8>`.
    Bytes,
    /// `string`.
    Text,
    /// `u32`.
    U32,
}

/// One fast-path value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bulk {
    /// A `list<u8>`.
    Bytes(Vec<u8>),
    /// A `string`.
    Text(String),
    /// A `u32`.
    U32(u32),
}

/// What a fast-path function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returns {
    /// Nothing.
    Nothing,
    /// One value of this kind.
    Value(Kind),
    /// `result<K, string>`, or `result<_, string>` when `None`.
    Fallible(Option<Kind>),
}

/// What a fast-path call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// Nothing (for [`Returns::Nothing`]).
    Nothing,
    /// The value (for [`Returns::Value`]).
    Value(Bulk),
    /// `ok`, with its value unless the type is `result<_, string>`.
    Ok(Option<Bulk>),
    /// `err` with its message.
    Err(String),
}

/// A signature of the fast path's menu.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    /// The parameters' kinds, in order.
    pub params: Vec<Kind>,
    /// The result.
    pub returns: Returns,
}

impl Kind {
    /// The kind of `ty`, if the fast path carries it.
    pub fn of(ty: &Type) -> Option<Kind> {
        match ty {
            Type::String => Some(Kind::Text),
            Type::U32 => Some(Kind::U32),
            Type::List(l) if l.ty() == Type::U8 => Some(Kind::Bytes),
            _ => None,
        }
    }

    /// Whether values of this kind are bulk bytes (worth the fast path).
    fn is_bulk(self) -> bool {
        matches!(self, Kind::Bytes | Kind::Text)
    }
}

impl Bulk {
    /// This value's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Bulk::Bytes(_) => Kind::Bytes,
            Bulk::Text(_) => Kind::Text,
            Bulk::U32(_) => Kind::U32,
        }
    }
}

impl Returned {
    /// Whether this fits `returns`.
    pub fn fits(&self, returns: Returns) -> bool {
        match (self, returns) {
            (Returned::Nothing, Returns::Nothing) | (Returned::Err(_), Returns::Fallible(_)) => {
                true
            }
            (Returned::Value(v), Returns::Value(k)) => v.kind() == k,
            (Returned::Ok(v), Returns::Fallible(k)) => v.as_ref().map(Bulk::kind) == k,
            _ => false,
        }
    }
}

impl Shape {
    /// The shape of a function taking `params` and returning `results`,
    /// when the fast path covers it (see the crate docs).
    pub fn of(params: &[Type], results: &[Type]) -> Option<Shape> {
        if params.len() > MAX_PARAMS {
            return None;
        }
        let params = params.iter().map(Kind::of).collect::<Option<Vec<_>>>()?;
        let returns = match results {
            [] => Returns::Nothing,
            [Type::Result(r)] => {
                if r.err() != Some(Type::String) {
                    return None;
                }
                match r.ok() {
                    None => Returns::Fallible(None),
                    Some(ty) => match Kind::of(&ty)? {
                        Kind::U32 => return None,
                        k => Returns::Fallible(Some(k)),
                    },
                }
            }
            [ty] => Returns::Value(Kind::of(ty)?),
            _ => return None,
        };
        let bulky = params.iter().any(|k| k.is_bulk())
            || matches!(returns, Returns::Value(k) | Returns::Fallible(Some(k)) if k.is_bulk());
        bulky.then_some(Shape { params, returns })
    }

    /// Whether `params` are values of this shape's parameters.
    pub fn takes(&self, params: &[Bulk]) -> bool {
        params.len() == self.params.len()
            && params.iter().zip(&self.params).all(|(p, k)| p.kind() == *k)
    }

    /// A caller of guest functions of this shape, for stores of `T`.
    pub fn caller<T: Send + 'static>(&self) -> Caller<T> {
        Caller {
            shape: self.clone(),
            invoke: dispatch(self, MakeInvoke(PhantomData)),
        }
    }

    /// Defines `name` in `instance` as a host function of this shape whose
    /// calls `handler` answers. A handler's answer that does not fit the
    /// shape traps the calling guest.
    pub fn define<T: 'static>(
        &self,
        instance: &mut LinkerInstance<'_, T>,
        name: &str,
        handler: Handler,
    ) -> wasmtime::Result<()> {
        dispatch(
            self,
            Define {
                instance,
                name,
                handler,
                returns: self.returns,
            },
        )
    }
}

/// A boxed future of a fast-path call's outcome.
pub type Answer<'a> = Pin<Box<dyn Future<Output = wasmtime::Result<Returned>> + Send + 'a>>;

/// What answers the calls of a host function defined by [`Shape::define`]:
/// given the parameters, the result.
pub type Handler = Arc<dyn Fn(Vec<Bulk>) -> Answer<'static> + Send + Sync>;

/// Calls guest functions of one [`Shape`] through the typed API.
pub struct Caller<T> {
    shape: Shape,
    invoke: Arc<dyn Invoke<T>>,
}

impl<T> Clone for Caller<T> {
    fn clone(&self) -> Self {
        Caller {
            shape: self.shape.clone(),
            invoke: self.invoke.clone(),
        }
    }
}

impl<T: Send + 'static> Caller<T> {
    /// The shape this caller calls.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Calls `func` (an export of this shape, in `store`) with `params`.
    /// Errors when `func`'s type or `params` do not fit the shape, or the
    /// guest fails.
    pub async fn call(
        &self,
        store: StoreContextMut<'_, T>,
        func: Func,
        params: Vec<Bulk>,
    ) -> wasmtime::Result<Returned> {
        if !self.shape.takes(&params) {
            return Err(format_err!(
                "the parameters do not fit the signature {:?}",
                self.shape
            ));
        }
        self.invoke.call(store, func, params).await
    }
}

/// One compiled signature's call.
trait Invoke<T>: Send + Sync {
    fn call<'a>(
        &'a self,
        store: StoreContextMut<'a, T>,
        func: Func,
        params: Vec<Bulk>,
    ) -> Answer<'a>;
}

/// The typed call of parameters `P` and results `R`.
struct Typed<P, R>(PhantomData<fn() -> (P, R)>);

impl<T: Send + 'static, P: Params, R: Results> Invoke<T> for Typed<P, R> {
    fn call<'a>(
        &'a self,
        mut store: StoreContextMut<'a, T>,
        func: Func,
        params: Vec<Bulk>,
    ) -> Answer<'a> {
        Box::pin(async move {
            let typed = func.typed::<P, R>(&store)?;
            let params =
                P::from_bulks(params).ok_or_else(|| format_err!("mismatched parameters"))?;
            Ok(typed.call_async(&mut store, params).await?.into_returned())
        })
    }
}

struct MakeInvoke<T>(PhantomData<fn() -> T>);

impl<T: Send + 'static> Visit for MakeInvoke<T> {
    type Out = Arc<dyn Invoke<T>>;
    fn visit<P: Params, R: Results>(self) -> Self::Out {
        Arc::new(Typed::<P, R>(PhantomData))
    }
}

struct Define<'a, 'b, T: 'static> {
    instance: &'a mut LinkerInstance<'b, T>,
    name: &'a str,
    handler: Handler,
    returns: Returns,
}

impl<T: 'static> Visit for Define<'_, '_, T> {
    type Out = wasmtime::Result<()>;
    fn visit<P: Params, R: Results>(self) -> Self::Out {
        let (handler, returns) = (self.handler, self.returns);
        self.instance
            .func_wrap_async(self.name, move |_store, params: P| {
                let answer = handler(params.into_bulks());
                Box::new(async move {
                    let returned = answer.await?;
                    // Checked before converting, so that the answer (a
                    // megabyte, say) is never formatted on the way.
                    if !returned.fits(returns) {
                        return Err(format_err!(
                            "the host answered a value that does not fit {returns:?}"
                        ));
                    }
                    R::from_returned(returned)
                        .ok_or_else(|| format_err!("the host answered the wrong type"))
                })
            })
    }
}

#[cfg(test)]
mod tests;
