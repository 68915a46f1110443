pub mod convert;
pub mod shape;
pub mod typegen;
