//! The public channel graph and paying through it: gossip handling
//! ([`gossip`]), funding-output checks ([`utxo`]), route finding ([`router`])
//! and the scorers that rank channels by how likely they are to carry a
//! payment ([`scoring`]).

pub mod gossip;
pub mod router;
pub mod scoring;
pub mod utxo;
