//! The workflows the commands share. Each takes the ports it needs as traits (`ports::Ports`;
//! `wire.rs`, above, picks the adapters) and reports through `Ui`; the decisions themselves stay
//! in the domain (`plan/`, `render/`, `queue/`).

pub mod apply;
pub mod checks;
pub mod comment;
pub mod labels;
pub mod plan;
pub mod ports;
pub mod queue;
pub mod read;
