//! [`MemberSet`]: a compact set of member indices, the evidence carried by each factor.

use std::fmt;

/// Members that fit in the inline word; larger groups spill into a heap vector.
const INLINE_BITS: usize = 128;

/// A set of member indices (positions in [`super::DealFacts::members`]).
///
/// Indices below 128 live in an inline `u128`, so sets over groups of up to 128 members
/// never allocate; higher indices go to a bit vector that is only created when needed.
/// Iteration is in ascending index order.
#[derive(Clone, Default)]
pub struct MemberSet {
    low: u128,
    /// Bits for indices 128 and up, 64 per word; empty (unallocated) for small groups.
    high: Vec<u64>,
}

impl MemberSet {
    /// The empty set.
    pub const fn new() -> Self {
        MemberSet {
            low: 0,
            high: Vec::new(),
        }
    }

    /// Adds `index`; adding twice is a no-op.
    #[inline]
    pub fn insert(&mut self, index: u16) {
        let i = usize::from(index);
        if i < INLINE_BITS {
            self.low |= 1u128 << i;
        } else {
            let (word, bit) = ((i - INLINE_BITS) / 64, (i - INLINE_BITS) % 64);
            if self.high.len() <= word {
                self.high.resize(word + 1, 0);
            }
            self.high[word] |= 1u64 << bit;
        }
    }

    /// Whether `index` is in the set.
    #[inline]
    pub fn contains(&self, index: u16) -> bool {
        let i = usize::from(index);
        if i < INLINE_BITS {
            self.low & (1u128 << i) != 0
        } else {
            let (word, bit) = ((i - INLINE_BITS) / 64, (i - INLINE_BITS) % 64);
            self.high.get(word).is_some_and(|w| w & (1u64 << bit) != 0)
        }
    }

    /// Number of members in the set.
    pub fn len(&self) -> usize {
        self.low.count_ones() as usize + self.high.iter().map(|w| w.count_ones() as usize).sum::<usize>()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.high.iter().all(|&w| w == 0)
    }

    /// The indices in ascending order.
    pub fn iter(&self) -> MemberSetIter<'_> {
        MemberSetIter {
            set: self,
            word: 0,
            bits: self.low,
        }
    }

    /// The indices in ascending order, as a vector.
    pub fn to_vec(&self) -> Vec<u16> {
        self.iter().collect()
    }
}

impl PartialEq for MemberSet {
    fn eq(&self, other: &Self) -> bool {
        // Equal as sets, whatever the length of the spill vectors.
        let (short, long) = if self.high.len() <= other.high.len() {
            (&self.high, &other.high)
        } else {
            (&other.high, &self.high)
        };
        self.low == other.low
            && short.iter().zip(long.iter()).all(|(a, b)| a == b)
            && long[short.len()..].iter().all(|&w| w == 0)
    }
}

impl Eq for MemberSet {}

impl fmt::Debug for MemberSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<u16> for MemberSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut set = MemberSet::new();
        set.extend(iter);
        set
    }
}

impl Extend<u16> for MemberSet {
    fn extend<I: IntoIterator<Item = u16>>(&mut self, iter: I) {
        for index in iter {
            self.insert(index);
        }
    }
}

impl<'a> IntoIterator for &'a MemberSet {
    type Item = u16;
    type IntoIter = MemberSetIter<'a>;
    fn into_iter(self) -> MemberSetIter<'a> {
        self.iter()
    }
}

/// Ascending iterator over a [`MemberSet`].
#[derive(Debug, Clone)]
pub struct MemberSetIter<'a> {
    set: &'a MemberSet,
    /// 0 while reading `low`; then 1 + the index of the `high` word being read.
    word: usize,
    /// The bits of the current word not yet yielded.
    bits: u128,
}

impl Iterator for MemberSetIter<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        loop {
            if self.bits != 0 {
                let bit = self.bits.trailing_zeros() as usize;
                self.bits &= self.bits - 1;
                let base = if self.word == 0 {
                    0
                } else {
                    INLINE_BITS + (self.word - 1) * 64
                };
                // Only u16 indices are ever inserted, so this cannot truncate.
                return Some((base + bit) as u16);
            }
            let next = *self.set.high.get(self.word)?;
            self.word += 1;
            self.bits = u128::from(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_small_and_large_indices_in_ascending_order() {
        let set: MemberSet = [300, 3, 127, 128, 0, 3, 191, 192].into_iter().collect();
        assert_eq!(set.to_vec(), vec![0, 3, 127, 128, 191, 192, 300]);
        assert_eq!(set.len(), 7);
        assert!(set.contains(300) && set.contains(128) && !set.contains(129));
        assert!(!set.contains(u16::MAX));
    }

    #[test]
    fn a_small_set_never_allocates() {
        let set: MemberSet = (0..128).collect();
        assert_eq!(set.len(), 128);
        assert_eq!(set.high.capacity(), 0);
    }

    #[test]
    fn sets_are_equal_by_content() {
        let mut a = MemberSet::new();
        a.high = vec![0, 0];
        assert_eq!(a, MemberSet::new());
        assert!(a.is_empty());
        a.insert(200);
        assert_ne!(a, MemberSet::new());
        assert_eq!(format!("{a:?}"), "{200}");
    }
}
