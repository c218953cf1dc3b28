//! The order in which InfluxDB 1.6 hands a group's points to a reducer: its sorted merge
//! iterator, a `container/heap` of the group's series (in series-key order) keyed by each
//! series' next point time. Among points of equal time the heap's own shape decides, so the
//! order is reproduced by running the same heap operations; it matters where a reducer is
//! not stable, as `percentile` (see `crate::go_sort`).

/// A point of a group: time, value, index of its member series.
pub(super) type Point = (i64, f64, usize);

/// Merges per-series point lists (each in time order, members in series-key order) as
/// InfluxDB's sorted merge iterator does.
pub(super) fn sorted_merge(mut series: Vec<Vec<(i64, f64)>>) -> Vec<Point> {
    if series.len() == 1 {
        return series.pop().unwrap_or_default().into_iter().map(|(t, v)| (t, v, 0)).collect();
    }
    let total = series.iter().map(Vec::len).sum();
    let mut cursors: Vec<(usize, usize)> = Vec::new(); // (member, next index)
    for (member, points) in series.iter().enumerate() {
        if !points.is_empty() {
            cursors.push((member, 0));
        }
    }
    let time = |c: &(usize, usize)| series[c.0][c.1].0;
    let mut heap =
        GoHeap { items: cursors, less: |a: &(usize, usize), b: &(usize, usize)| time(a) < time(b) };
    heap.init();
    let mut out = Vec::with_capacity(total);
    while let Some((member, index)) = heap.pop() {
        let (t, v) = series[member][index];
        out.push((t, v, member));
        if index + 1 < series[member].len() {
            heap.push((member, index + 1));
        }
    }
    out
}

/// Go's `container/heap` over a vector, operation for operation.
struct GoHeap<T, F: Fn(&T, &T) -> bool> {
    items: Vec<T>,
    less: F,
}

impl<T, F: Fn(&T, &T) -> bool> GoHeap<T, F> {
    fn less(&self, i: usize, j: usize) -> bool {
        (self.less)(&self.items[i], &self.items[j])
    }

    fn init(&mut self) {
        let n = self.items.len();
        for i in (0..n / 2).rev() {
            self.down(i, n);
        }
    }

    fn push(&mut self, item: T) {
        self.items.push(item);
        self.up(self.items.len() - 1);
    }

    fn pop(&mut self) -> Option<T> {
        let n = self.items.len().checked_sub(1)?;
        self.items.swap(0, n);
        self.down(0, n);
        self.items.pop()
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    fn down(&mut self, i0: usize, n: usize) {
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            if j1 + 1 < n && self.less(j1 + 1, j1) {
                j = j1 + 1;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_come_in_time_order_with_every_point_once() {
        let series = vec![vec![(1, 1.0), (4, 4.0)], vec![(2, 2.0), (3, 3.0), (5, 5.0)], vec![]];
        let out = sorted_merge(series);
        assert_eq!(out.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert_eq!(out.iter().map(|p| p.2).collect::<Vec<_>>(), vec![0, 1, 1, 0, 1]);
    }

    /// Three series at the same times: Go's heap hands out the first series, then the last,
    /// then the middle one at the first time (a pop moves the last item to the root), and
    /// the pushes back reorder the later times.
    #[test]
    fn equal_times_follow_the_heaps_shape() {
        let series = vec![vec![(1, 0.0), (2, 0.0)], vec![(1, 1.0), (2, 1.0)], vec![(1, 2.0), (2, 2.0)]];
        let members: Vec<usize> = sorted_merge(series).iter().map(|p| p.2).collect();
        assert_eq!(&members[..3], &[0, 2, 1]);
        assert_eq!(members.len(), 6);
    }
}
