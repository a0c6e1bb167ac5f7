//! Remote imports: an imported interface whose functions the host serves by
//! calling an exporter over the network.
//!
//! How a transport failure reaches the caller depends on what the imported
//! function can say. When it returns `result<_, E>` and `E` is
//! - `string`: the failure is `err("remote link …: …")`;
//! - a `variant` with a case named `transport` (no payload, or a `string`
//!   payload carrying the message): that case;
//! - an `enum` with a case named `transport`: that case;
//!
//! otherwise the call traps with a message naming the link, so the
//! failure is never mistaken for an answer.

use crate::client::{CallError, Client};
use crate::stream::{Arrived, CHANNEL_CHUNKS, ChunkConsumer, ChunkProducer};
use crate::transport::{Endpoint, Transport};
use crate::wire::value::cannot_cross;
use anyhow::Result;
use futures::channel::mpsc;
use nanopod_bulk::{Bulk, Handler, Returned, Returns, Shape};
use nanopod_host::types::is_byte_stream;
use nanopod_host::{InterfaceName, LinkFailure};
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Accessor, Component, Linker, StreamAny, StreamReader, Val};

/// The case of an error variant or enum that carries transport failures.
pub(crate) const TRANSPORT_CASE: &str = "transport";

/// One import to serve remotely.
#[derive(Debug, Clone)]
pub struct RemoteLink {
    /// The interface, `ns:pkg/iface` (a version is optional).
    pub import: String,
    /// Where its exporter listens.
    pub endpoint: Endpoint,
}

/// A remote link that does not fit the component importing it. Each
/// names the link and its exporter's URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("remote link `{import}` → {url}: {problem}")]
pub struct LinkError {
    /// The linked interface.
    pub import: String,
    /// Where its exporter listens.
    pub url: String,
    /// What does not fit.
    pub problem: String,
}

/// A remote link checked against the component that imports it.
struct Bound {
    /// The import's exact name in the component (and the wRPC instance).
    import: String,
    functions: Vec<(String, ComponentFunc)>,
    client: Arc<Client>,
}

/// The remote imports of one component, ready to go into its linker.
pub struct RemoteImports {
    bound: Vec<Bound>,
}

impl RemoteImports {
    /// Checks each link against `component`'s imports: the interface must
    /// be imported, and every value its functions take and return must be
    /// able to cross hosts (no resources, streams or futures). Errors name
    /// the link and say what cannot cross.
    pub fn bind(
        engine: &Engine,
        component: &Component,
        links: &[RemoteLink],
    ) -> Result<Self, LinkError> {
        let ty = component.component_type();
        let mut bound = Vec::new();
        for link in links {
            let problem = |problem: String| LinkError {
                import: link.import.clone(),
                url: link.endpoint.url(),
                problem,
            };
            let wanted = InterfaceName::parse(&link.import);
            let (name, item) = ty
                .imports(engine)
                .find(|(name, _)| InterfaceName::parse(name).matches(&wanted))
                .ok_or_else(|| problem("nothing imports it".into()))?;
            let ComponentItem::ComponentInstance(instance) = item.ty else {
                return Err(problem("it is not an interface".into()));
            };
            let mut functions = Vec::new();
            for (fname, item) in instance.exports(engine) {
                match item.ty {
                    ComponentItem::ComponentFunc(f) => {
                        if let Some(what) = func_types(&f).find_map(|t| cannot_cross(&t)) {
                            return Err(problem(format!(
                                "`{fname}` takes or returns a {what}, and {what} values cannot cross hosts; serve this interface from a component in the pod"
                            )));
                        }
                        let streams = func_types(&f).any(|t| is_byte_stream(&t));
                        if streams && !matches!(link.endpoint.transport, Transport::Tcp { .. }) {
                            return Err(problem(format!(
                                "`{fname}` takes or returns a stream<u8>, and streams cross hosts over tcp:// links only"
                            )));
                        }
                        functions.push((fname.to_string(), f));
                    }
                    ComponentItem::Resource(_) => {
                        return Err(problem(format!(
                            "it defines the resource `{fname}`, and resource handles cannot cross hosts; serve this interface from a component in the pod"
                        )));
                    }
                    _ => {}
                }
            }
            bound.push(Bound {
                import: name.to_string(),
                functions,
                client: Arc::new(Client::new(link.endpoint.clone())),
            });
        }
        Ok(RemoteImports { bound })
    }

    /// Defines every function of every remote import in `linker`.
    pub fn add_to_linker<T: Send + 'static>(&self, linker: &mut Linker<T>) -> Result<()> {
        for b in &self.bound {
            let mut instance = linker.instance(&b.import)?;
            for (func, ty) in &b.functions {
                // Everything a call needs but its values, worked out once.
                let forward = Arc::new(Forward {
                    client: b.client.clone(),
                    import: b.import.clone(),
                    func: func.clone(),
                    params: ty.params().map(|(_, t)| t).collect(),
                    results: ty.results().collect(),
                });
                if let Some(shape) = Shape::of(&forward.params, &forward.results) {
                    // Byte lists and strings in bulk, without a `Val` per
                    // byte (see nanopod_bulk).
                    let returns = shape.returns;
                    let handler: Handler = Arc::new(move |params| {
                        let forward = forward.clone();
                        Box::pin(async move { forward.call_bulk(params, returns).await })
                    });
                    shape.define(&mut instance, func, handler)?;
                } else if func_types(ty).any(|t| is_byte_stream(&t)) {
                    // Streams live in the store's concurrent state, which
                    // only a concurrent host function can reach.
                    instance.func_new_concurrent(func, move |accessor, _ty, params, results| {
                        let forward = forward.clone();
                        Box::pin(
                            async move { forward.call_streaming(accessor, params, results).await },
                        )
                    })?;
                } else {
                    instance.func_new_async(func, move |_store, _ty, params, results| {
                        let forward = forward.clone();
                        Box::new(async move { forward.call(params, results).await })
                    })?;
                }
            }
        }
        Ok(())
    }

    /// `(import, url)` of each remote link, for logs and `inspect`.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.bound
            .iter()
            .map(|b| (b.import.clone(), b.client.endpoint().url()))
            .collect()
    }
}

/// One remote function: where its calls go and the types of its values.
struct Forward {
    client: Arc<Client>,
    import: String,
    func: String,
    params: Vec<Type>,
    results: Vec<Type>,
}

impl Forward {
    async fn call(&self, params: &[Val], results: &mut [Val]) -> wasmtime::Result<()> {
        match self
            .client
            .call(
                &self.import,
                &self.func,
                (params, &self.params),
                &self.results,
            )
            .await
        {
            Ok(vals) => {
                for (slot, val) in results.iter_mut().zip(vals) {
                    *slot = val;
                }
                Ok(())
            }
            Err(e) => self.fail(e, results),
        }
    }

    /// A call on the byte fast path.
    async fn call_bulk(&self, params: Vec<Bulk>, returns: Returns) -> wasmtime::Result<Returned> {
        match self
            .client
            .call_bulk(&self.import, &self.func, &params, returns)
            .await
        {
            Ok(returned) => Ok(returned),
            // Fast-path errors are strings, so a transport failure is
            // `err(message)`, as `transport_error` makes it for `Val`s.
            Err(e) => match returns {
                Returns::Fallible(_) => Ok(Returned::Err(self.failure(e))),
                _ => Err(wasmtime::Error::new(LinkFailure(self.failure(e)))),
            },
        }
    }

    /// A call whose parameters or results include `stream<u8>`: parameter
    /// streams are sent as the guest writes them, result streams handed to
    /// the guest as their chunks arrive.
    async fn call_streaming<T: 'static>(
        &self,
        accessor: &Accessor<T>,
        params: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        let mut outgoing = Vec::new();
        accessor.with(|mut access| -> wasmtime::Result<()> {
            for (i, param) in params.iter().enumerate() {
                if let Val::Stream(s) = param {
                    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
                    let (consumer, _) = ChunkConsumer::new(vec![i as u32], tx);
                    s.clone()
                        .try_into_stream_reader::<u8>()?
                        .pipe(&mut access, consumer)?;
                    outgoing.push((i as u32, rx));
                }
            }
            Ok(())
        })?;
        let call = self.client.call_streaming(
            &self.import,
            &self.func,
            (params, &self.params),
            outgoing,
            &self.results,
        );
        let arrived = match call.await {
            Ok(arrived) => arrived,
            Err(e) => return self.fail(e, results),
        };
        let context = self.context();
        accessor.with(|mut access| {
            for (slot, arrived) in results.iter_mut().zip(arrived) {
                *slot = match arrived {
                    Arrived::Value(v) => v,
                    Arrived::Stream(rx) => {
                        let producer = ChunkProducer::new(rx, &context);
                        let reader = StreamReader::new(&mut access, producer)?;
                        Val::Stream(StreamAny::try_from_stream_reader(&mut access, reader)?)
                    }
                };
            }
            Ok(())
        })
    }

    /// "remote link `iface` → url", the start of every failure message.
    fn context(&self) -> String {
        format!(
            "remote link `{}` → {}",
            self.import,
            self.client.endpoint().url()
        )
    }

    /// A failed call's message, logged.
    fn failure(&self, e: CallError) -> String {
        let message = format!("{}: {e}", self.context());
        tracing::debug!("`{}`: {message}", self.func);
        message
    }

    /// Reports a failed call as the function's transport error, or a trap.
    fn fail(&self, e: CallError, results: &mut [Val]) -> wasmtime::Result<()> {
        let message = self.failure(e);
        match (self.results.as_slice(), results) {
            ([ty], [slot]) => match transport_error(ty, &message) {
                Some(err) => {
                    *slot = err;
                    Ok(())
                }
                None => Err(wasmtime::Error::new(LinkFailure(message))),
            },
            _ => Err(wasmtime::Error::new(LinkFailure(message))),
        }
    }
}

/// The value of type `ty` that reports a transport failure, if `ty` can.
pub(crate) fn transport_error(ty: &Type, message: &str) -> Option<Val> {
    let Type::Result(r) = ty else { return None };
    let payload = match r.err()? {
        Type::String => Val::String(message.to_string()),
        Type::Variant(v) => {
            let case = v.cases().find(|c| c.name == TRANSPORT_CASE)?;
            let payload = match case.ty {
                None => None,
                Some(Type::String) => Some(Box::new(Val::String(message.to_string()))),
                Some(_) => return None,
            };
            Val::Variant(TRANSPORT_CASE.to_string(), payload)
        }
        Type::Enum(e) => {
            e.names().find(|n| *n == TRANSPORT_CASE)?;
            Val::Enum(TRANSPORT_CASE.to_string())
        }
        _ => return None,
    };
    Some(Val::Result(Err(Some(Box::new(payload)))))
}

fn func_types(f: &ComponentFunc) -> impl Iterator<Item = Type> + '_ {
    f.params().map(|(_, t)| t).chain(f.results())
}
