pub mod inputs;
pub mod load;
pub mod normalise;
pub mod swagger2;
