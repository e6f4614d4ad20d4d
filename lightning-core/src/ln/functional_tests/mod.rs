//! End-to-end tests of channels between nodes in one process, told through
//! the harness in `functional_test_utils`.

mod basic;
mod closing_fees;
mod dust;
mod housekeeping;
mod monitor_pause;
mod reestablish;
mod review_fixes;
mod timeouts;
mod violations;
mod violations2;
