//! A pipeline: a pod whose `[[step]]` tables run components one after
//! another over one shared in-memory filesystem (mounted at `scratch`,
//! default `/out`), a legacy command writing what a typed component then
//! reads as a stream. The front end runs each [`Step`] it is given, in
//! order, as it runs a pod's entry, and stops at the first that fails.

use crate::grant::GrantSpec;
use crate::pod::{ComposedPod, Pod, PodError};
use nanopod_host::vfs::VirtualDir;
use std::sync::Arc;

/// Where a pipeline's in-memory filesystem is mounted when `scratch` is not
/// set.
pub const DEFAULT_SCRATCH: &str = "/out";

/// The steps of one run of a pipeline.
pub struct Pipeline {
    steps: Vec<Step>,
}

/// One step to run.
pub struct Step {
    /// Its place, from 1.
    pub number: usize,
    /// How many steps the pipeline has.
    pub of: usize,
    /// The component it runs.
    pub component: String,
    /// Its words, as after `nanopod run COMPONENT`: the step's `args`, and
    /// for the last step the words given on the command line.
    pub words: Vec<String>,
    /// The pipeline's in-memory filesystem: granted to the step, and where
    /// its input paths are opened.
    pub scratch: Arc<VirtualDir>,
}

impl Pipeline {
    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

impl Step {
    /// Whether it is the pipeline's last step.
    pub fn is_last(&self) -> bool {
        self.number == self.of
    }

    /// Its component composed with what its links reach, granted the
    /// pipeline's filesystem.
    pub fn compose<G: GrantSpec>(&self, pod: &Pod<G>) -> Result<ComposedPod, PodError> {
        let mut composed = pod.compose(&self.component)?;
        composed
            .info
            .grants
            .virtual_dir(self.scratch.clone())
            .map_err(|source| PodError::Grants {
                component: self.component.clone(),
                source: Box::new(source),
            })?;
        Ok(composed)
    }

    /// What to tell the user when the step ended with a non-zero `code`:
    /// nothing for the last step, whose failure speaks for itself.
    pub fn failure(&self, code: u8) -> Option<String> {
        (code != 0 && !self.is_last()).then(|| {
            format!(
                "step {} (`{}`) failed; the pipeline stops here",
                self.number, self.component
            )
        })
    }
}

/// Why a pipeline cannot start.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the pipeline's in-memory filesystem")]
pub struct ScratchError(#[source] Box<dyn std::error::Error + Send + Sync>);

impl<G: GrantSpec> Pod<G> {
    /// The pod's pipeline, if it has `[[step]]` tables: the steps to run,
    /// the last one with `args` (the words given after the manifest) added
    /// to its own. With `help`, only the last step, which describes the
    /// pipeline's entry.
    pub fn pipeline(&self, args: &[String], help: bool) -> Result<Option<Pipeline>, ScratchError> {
        let steps = &self.manifest.steps;
        if steps.is_empty() {
            return Ok(None);
        }
        let mount = self.manifest.scratch.as_deref().unwrap_or(DEFAULT_SCRATCH);
        let max = self
            .manifest
            .scratch_max
            .map_or(nanopod_host::vfs::DEFAULT_MAX, |m| m as u64);
        let scratch = Arc::new(VirtualDir::empty(mount, max).map_err(|e| ScratchError(e.into()))?);
        let first = if help { steps.len() - 1 } else { 0 };
        let of = steps.len();
        let steps = steps
            .iter()
            .enumerate()
            .skip(first)
            .map(|(i, step)| {
                let mut words = step.args.clone();
                if i + 1 == of {
                    words.extend(args.iter().cloned());
                }
                Step {
                    number: i + 1,
                    of,
                    component: step.component.clone(),
                    words,
                    scratch: scratch.clone(),
                }
            })
            .collect();
        Ok(Some(Pipeline { steps }))
    }
}
