//! Counterparty protocol violations, each caught.
