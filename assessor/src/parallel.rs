//! Independent pieces of work on the machine's cores, results in order.
//!
//! [`ordered`] is the one work pool of the offline analysis: the analyzer's
//! files and the report's formats go through it. Guarantees:
//! - `each` sees every result on the calling thread, in index order, as soon
//!   as that result and all before it are done, so whatever it builds is
//!   what one thread would have built; only the timing differs.
//! - The calling thread works too, so `max_threads` counts it (one thread
//!   fewer is also one malloc arena fewer).
//! - A panic in `work` or `each` reaches the caller.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs `work(i)` for every `i` in `0..n` on up to `max_threads` threads
/// (no more than the cores), handing each result to `each` in index order.
pub fn ordered<T: Send>(
    n: usize,
    max_threads: usize,
    work: impl Fn(usize) -> T + Sync,
    mut each: impl FnMut(usize, T),
) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .min(max_threads)
        .min(n);
    let next = AtomicUsize::new(0);
    let take = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        (i < n).then_some(i)
    };
    // Results arrive in the order they finish; `pending` holds those done
    // before an earlier, slower one.
    let (tx, rx) = mpsc::channel::<(usize, T)>();
    let mut pending: BTreeMap<usize, T> = BTreeMap::new();
    let mut due = 0;
    let mut hand_over = |pending: &mut BTreeMap<usize, T>| {
        while let Some(result) = pending.remove(&due) {
            each(due, result);
            due += 1;
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let tx = tx.clone();
            let (take, work) = (&take, &work);
            scope.spawn(move || {
                while let Some(i) = take() {
                    // The receiver is gone only if `each` panicked.
                    if tx.send((i, work(i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        while let Some(i) = take() {
            pending.insert(i, work(i));
            pending.extend(rx.try_iter());
            hand_over(&mut pending);
        }
        for (i, result) in rx {
            pending.insert(i, result);
            hand_over(&mut pending);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;
    use std::time::Duration;

    #[test]
    fn results_come_in_index_order_whichever_finishes_first() {
        let threads = Mutex::new(HashSet::new());
        let mut seen = Vec::new();
        ordered(
            40,
            4,
            |i| {
                threads
                    .lock()
                    .expect("no panic holds the lock")
                    .insert(std::thread::current().id());
                // Early items are slow, so later ones finish first.
                std::thread::sleep(Duration::from_millis(if i % 10 == 0 { 20 } else { 1 }));
                i * 3
            },
            |i, v| seen.push((i, v)),
        );
        let expected: Vec<(usize, usize)> = (0..40).map(|i| (i, i * 3)).collect();
        assert_eq!(seen, expected);
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let used = threads.lock().expect("no panic holds the lock").len();
        assert_eq!(used, cores.min(4), "every allowed thread took work");
    }

    #[test]
    fn nothing_to_do_and_one_thread_work() {
        ordered(
            0,
            4,
            |_| unreachable!("no work"),
            |_, (): ()| unreachable!("no result"),
        );
        let mut seen = Vec::new();
        ordered(5, 1, |i| i, |_, v| seen.push(v));
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }
}
