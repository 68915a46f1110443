//! A deterministic pseudo-random generator for the unit tests' generated inputs (an LCG): the
//! same sequence on every run and machine.

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}
