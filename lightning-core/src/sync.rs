//! Locks for the core, the same API with and without `std`.
//!
//! With `std` these are thin wrappers over `std::sync` that never surface lock
//! poisoning (a panic while holding a lock already aborts the operation that
//! held it; the data is still consistent for the core's purposes, since every
//! mutation is completed before the lock is released). Without `std` the core
//! runs single-threaded and these wrap a `RefCell`; they are then neither `Send`
//! nor `Sync`, so a multi-threaded `no_std` user cannot share them by mistake.

#[cfg(feature = "std")]
mod imp {
    pub use std::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};

    /// A mutual-exclusion lock.
    #[derive(Debug, Default)]
    pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        /// Wraps `value` in a new lock.
        pub const fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }
        /// Consumes the lock and returns the value inside.
        pub fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl<T: ?Sized> Mutex<T> {
        /// Locks, blocking the current thread until the lock is free.
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    /// A reader-writer lock.
    #[derive(Debug, Default)]
    pub struct RwLock<T: ?Sized>(std::sync::RwLock<T>);

    impl<T> RwLock<T> {
        /// Wraps `value` in a new lock.
        pub const fn new(value: T) -> Self {
            Self(std::sync::RwLock::new(value))
        }
    }

    impl<T: ?Sized> RwLock<T> {
        /// Takes a shared read lock.
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|e| e.into_inner())
        }
        /// Takes the exclusive write lock.
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|e| e.into_inner())
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use core::cell::{Ref, RefCell, RefMut};

    /// Guard of a [`Mutex`].
    pub type MutexGuard<'a, T> = RefMut<'a, T>;
    /// Shared guard of a [`RwLock`].
    pub type RwLockReadGuard<'a, T> = Ref<'a, T>;
    /// Exclusive guard of a [`RwLock`].
    pub type RwLockWriteGuard<'a, T> = RefMut<'a, T>;

    /// A single-threaded mutual-exclusion cell. Re-entrant locking panics, as
    /// it would deadlock with `std`.
    #[derive(Debug, Default)]
    pub struct Mutex<T: ?Sized>(RefCell<T>);

    impl<T> Mutex<T> {
        /// Wraps `value` in a new lock.
        pub const fn new(value: T) -> Self {
            Self(RefCell::new(value))
        }
        /// Consumes the lock and returns the value inside.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: ?Sized> Mutex<T> {
        /// Borrows the value exclusively.
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.borrow_mut()
        }
    }

    /// A single-threaded reader-writer cell.
    #[derive(Debug, Default)]
    pub struct RwLock<T: ?Sized>(RefCell<T>);

    impl<T> RwLock<T> {
        /// Wraps `value` in a new lock.
        pub const fn new(value: T) -> Self {
            Self(RefCell::new(value))
        }
    }

    impl<T: ?Sized> RwLock<T> {
        /// Borrows the value shared.
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.borrow()
        }
        /// Borrows the value exclusively.
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.borrow_mut()
        }
    }
}

pub use imp::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutex_and_rwlock_give_access() {
        let m = Mutex::new(1u32);
        *m.lock() += 1;
        assert_eq!(*m.lock(), 2);
        assert_eq!(m.into_inner(), 2);
        let l = RwLock::new(5u32);
        assert_eq!(*l.read(), 5);
        *l.write() = 6;
        assert_eq!(*l.read(), 6);
    }
}
