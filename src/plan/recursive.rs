//! The working table of a recursive CTE (`WITH RECURSIVE`): the rows the last
//! iteration produced, which the recursive part reads through
//! [`LogicalPlan::WorkTable`](super::LogicalPlan::WorkTable) and the executor of
//! [`LogicalPlan::RecursiveCte`](super::LogicalPlan::RecursiveCte) refills before
//! each iteration.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::column::Batch;

/// The working table shared by a recursive CTE and its references (clones of a
/// plan share it). One run of the CTE at a time holds [`WorkSlot::run`].
#[derive(Clone, Debug, Default)]
pub struct WorkSlot(Arc<SlotInner>);

#[derive(Debug, Default)]
struct SlotInner {
    rows: Mutex<Vec<Batch>>,
    running: Mutex<()>,
}

impl WorkSlot {
    /// Held while one run of the CTE iterates, so that two copies of one plan
    /// run one after the other.
    pub fn run(&self) -> MutexGuard<'_, ()> {
        self.0.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the working table's rows.
    pub fn set(&self, rows: Vec<Batch>) {
        *self.0.rows.lock().unwrap_or_else(|p| p.into_inner()) = rows;
    }

    /// A copy of the working table's rows.
    pub fn rows(&self) -> Vec<Batch> {
        self.0
            .rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl PartialEq for WorkSlot {
    fn eq(&self, other: &WorkSlot) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
