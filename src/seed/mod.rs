//! Data sets loaded in bulk: the demo tenant ([`demo`]) and the benchmark's synthetic data
//! ([`generate`]). Both build domain records and write them with the store's bulk writer
//! ([`crate::store::bulk`]), the path an import takes too; requests never come here.

pub mod demo;
pub mod generate;
